"""What every shop service shares: its configuration (handed down by the demo in one
environment variable) and how a Flask app is served."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass

ENV = "SPANHOUSE_DEMO_SHOP"

# service name -> the module that builds it (``spanhouse.demo.<module>``)
SERVICES = {
    "api-gateway": "gateway",
    "auth-service": "auth",
    "product-service": "products",
    "order-service": "orders",
    "payment-service": "payment",
    "email-worker": "worker",
}
HTTP_SERVICES = ("api-gateway", "auth-service", "product-service", "order-service",
                 "payment-service")
CONFIRMATION_QUEUE = "order-confirmations"


@dataclass(frozen=True)
class ShopConfig:
    otlp_endpoint: str                      # http://127.0.0.1:PORT, the demo's OTLP/gRPC
    ports: dict[str, int]                   # HTTP services -> loopback port
    workdir: str                            # the SQLite files live here
    break_context: bool = True              # api-gateway -> auth-service without traceparent
    break_queue: bool = True                # confirmations published without headers
    decline_rate: float = 0.2               # share of card payments declined
    slow_email_rate: float = 0.2            # share of emails held up by greylisting (> 1 s)
    parent_pid: int = 0                     # the demo; a service exits when it is gone

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def peers(self) -> dict[str, str]:
        return {f"127.0.0.1:{port}": name for name, port in self.ports.items()}

    @property
    def products_db(self) -> str:
        # Relative to the service's working directory (the demo's workdir), so the DB spans
        # read "SELECT products", not "SELECT /tmp/.../products".
        return "products"

    @property
    def queue_db(self) -> str:
        return os.path.join(self.workdir, "queue.db")

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ShopConfig":
        return cls(**json.loads(os.environ[ENV]))


def exit_with_parent(parent_pid: int) -> None:
    """Besides PR_SET_PDEATHSIG (set by the demo where the OS has it): leave when the demo is
    gone, so no service outlives it."""
    if not parent_pid:
        return

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def stop_on_sigterm() -> None:
    """SIGTERM ends the process through ``sys.exit`` so atexit hooks (the span flush) run."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))


def serve_app(app, port: int) -> None:
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
