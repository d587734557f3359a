"""``spanhouse demo``: the seed's shop, traced into a ``spanhouse serve`` of its own, with the
answers printed.

1. ``spanhouse serve`` starts with ``collector.yaml`` (the seed's tail sampling, a short
   ``decision_wait``) on free loopback ports, and the shop's processes start beside it.
2. Customers browse and check out; after ``traffic_s`` and the tail sampler's decisions the
   answers are asked of ``/api/v1`` and printed.
3. Traffic goes on until Ctrl-C (or SIGTERM), or until ``duration_s`` is up; then every process
   the demo started is stopped, shop first, the server last (so it can store what the shop
   flushed).
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx

from spanhouse.demo import answers, shop_queue
from spanhouse.demo.processes import Child, Children
from spanhouse.demo.shop import ENV, HTTP_SERVICES, SERVICES, ShopConfig
from spanhouse.demo.traffic import Traffic

DECISION_WAIT_S = 2.0          # collector.yaml's tail_sampling decision_wait
SETTLE_WAIT_S = DECISION_WAIT_S + 2.0   # + the shop's export delay and the store's batching
ANSWERS_S = 3.0                # asking and printing the answers, about
DOCTOR_AGAIN_S = 135           # the doctor's settle time (2 min) and a margin
START_TIMEOUT_S = 90
_LISTEN = re.compile(r"^(OTLP/gRPC|OTLP/HTTP|Query/UI)\s+listening on (\S+):(\d+)")


class DemoError(Exception):
    """The demo could not start; the message says why."""


class _Stopped(Exception):
    """SIGTERM (or SIGINT) asked the demo to stop."""


@dataclass(frozen=True)
class DemoOptions:
    duration_s: float | None = None     # None: until Ctrl-C
    break_context: bool = True
    break_queue: bool = True
    data: str | None = None             # None: a temporary directory, removed at the end
    ui: str = "127.0.0.1:16686"
    traffic_s: float | None = None      # before the answers; None: what --duration leaves

    def traffic_before_answers_s(self, elapsed_s: float) -> float:
        """At least 10 s of traffic before the answers; with a duration, as much as it leaves
        after start-up (``elapsed_s``), the sampler's wait and the answers themselves."""
        if self.traffic_s is not None:
            return self.traffic_s
        if self.duration_s is not None:
            return max(10.0, self.duration_s - elapsed_s - SETTLE_WAIT_S - ANSWERS_S)
        return 15.0


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))


def _ui_address(ui: str) -> tuple[str, int] | None:
    """``--ui``'s host and port (``127.0.0.1:16686``, ``[::1]:16686``), or None if unreadable."""
    host, sep, port = ui.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _port_taken_message(ui: str) -> str:
    address = _ui_address(ui)
    port = address[1] if address else ui
    return (f"--ui {ui}: port {port} is already in use (a local Jaeger?); give the demo "
            "another one, e.g. spanhouse demo --ui 127.0.0.1:16687 (port 0: any free one)")


def check_ui_port_free(ui: str) -> None:
    """Fail in one line, before anything starts, when ``--ui``'s port is taken."""
    address = _ui_address(ui)
    if address is None or address[1] == 0:
        return  # the server itself reports an unreadable address; port 0 is always free
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DemoError(_port_taken_message(ui)) from None


def _start_up_failure(log: str, ui: str) -> str:
    """One line for a server that exited during start-up: its own ``spanhouse:`` line (a busy
    UI port gets the flag that changes it), else the end of its log."""
    said = [line[len("spanhouse: "):] for line in log.splitlines()
            if line.startswith("spanhouse: ")]
    if not said:
        return "spanhouse serve exited during start-up:\n" + log
    if said[-1].startswith("--ui ") and "address in use" in said[-1]:
        return _port_taken_message(ui)
    return f"spanhouse serve exited during start-up: {said[-1]}"


class Demo:
    def __init__(self, options: DemoOptions, console):
        self.options = options
        self.console = console
        self.workdir = Path(tempfile.mkdtemp(prefix="spanhouse-demo-"))
        self.data = Path(options.data) if options.data else self.workdir / "data"
        self.children = Children(self.workdir)
        self.server: Child | None = None
        self.server_ports: dict[str, tuple[str, int]] = {}
        self.ui_url = ""
        self.traffic: Traffic | None = None
        self.started = time.time()

    # ------------------------------------------------------------------ start
    def start_server(self, grpc_port: int, http_port: int) -> None:
        config = self.workdir / "collector.yaml"
        config.write_text(resources.files("spanhouse.demo").joinpath("collector.yaml")
                          .read_text(encoding="utf-8"), encoding="utf-8")
        argv = [sys.executable, "-m", "spanhouse.cli", "serve", "--config", str(config),
                "--data", str(self.data), "--grpc", f"127.0.0.1:{grpc_port}",
                "--http", f"127.0.0.1:{http_port}", "--ui", self.options.ui]
        self.server = self.children.start("spanhouse-serve", argv, stdout_pipe=True)
        def pump(child: Child) -> None:
            for line in child.proc.stdout:
                match = _LISTEN.match(line)
                if match:
                    self.server_ports[match.group(1)] = (match.group(2), int(match.group(3)))
                if child.log is not None and not child.log.closed:
                    try:
                        child.log.write(line)
                        child.log.flush()
                    except ValueError:
                        pass

        threading.Thread(target=pump, args=(self.server,), daemon=True).start()

    def wait_for_server(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.server.alive():
                time.sleep(0.2)  # let the pump read the last lines
                raise DemoError(_start_up_failure(self.server.log_tail(200), self.options.ui))
            if "Query/UI" in self.server_ports:
                host, port = self.server_ports["Query/UI"]
                host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
                self.ui_url = f"http://{host}:{port}"
                try:
                    if httpx.get(self.ui_url + "/healthz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise DemoError("spanhouse serve did not become ready in time:\n" + self.server.log_tail())

    def start_shop(self, grpc_port: int) -> ShopConfig:
        ports = dict(zip(HTTP_SERVICES, _free_ports(len(HTTP_SERVICES))))
        config = ShopConfig(otlp_endpoint=f"http://127.0.0.1:{grpc_port}", ports=ports,
                            workdir=str(self.workdir), break_context=self.options.break_context,
                            break_queue=self.options.break_queue, parent_pid=os.getpid())
        shop_queue.create(config.queue_db)
        # The seed's BatchSpanProcessor, exporting every 200 ms instead of 5 s, so a trace's
        # spans reach the tail sampler well within its decision_wait.
        env = {ENV: config.to_env(), "OTEL_BSP_SCHEDULE_DELAY": "200", "PYTHONUNBUFFERED": "1"}
        for name in SERVICES:
            self.children.start(name, [sys.executable, "-m", "spanhouse.demo.service", name], env,
                                cwd=self.workdir)
        return config

    def wait_for_shop(self, config: ShopConfig) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = set(HTTP_SERVICES)
        while waiting and time.monotonic() < deadline:
            for child in self.children.started:
                if child.name in SERVICES and not child.alive():
                    raise DemoError(f"{child.name} exited during start-up:\n{child.log_tail()}")
            for name in sorted(waiting):
                try:
                    if httpx.get(config.url(name) + "/healthz", timeout=2).status_code == 200:
                        waiting.discard(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        if waiting:
            raise DemoError(f"the shop did not start in time: {', '.join(sorted(waiting))}")

    # ------------------------------------------------------------------ the run
    def since(self) -> str:
        return f"{math.ceil(time.time() - self.started) + 5}s"

    def deadline_reached(self) -> bool:
        return (self.options.duration_s is not None
                and time.time() - self.started >= self.options.duration_s)

    def run(self) -> int:
        c = self.console
        o = self.options
        grpc_port, http_port = _free_ports(2)
        c.print("[bold]Spanhouse demo[/bold]: the seed's shop, traced with OpenTelemetry into "
                "spanhouse, with the tail sampling the seed advises.")
        check_ui_port_free(o.ui)
        self.start_server(grpc_port, http_port)
        config = self.start_shop(grpc_port)
        self.wait_for_server()
        c.print(f"[bold]Spanhouse UI: {self.ui_url}[/bold] (open it now)", highlight=False)
        self.wait_for_shop(config)
        self.print_setup(config)

        self.traffic = Traffic(config.url("api-gateway"))
        self.traffic.start()
        traffic_s = o.traffic_before_answers_s(time.time() - self.started)
        c.print(f"\nCustomers (user-1 .. user-500) browse the product page and check out for "
                f"{traffic_s:.0f} s ...")
        _sleep(traffic_s)
        counts = self.traffic.counts
        c.print(f"{counts['GET /products']} product page views "
                f"({counts['GET /products 200']} ok), {counts['POST /checkout']} checkouts "
                f"({counts['POST /checkout 200']} ok, {counts['POST /checkout 402']} declined) "
                "so far; traffic goes on.")
        c.print(f"Waiting {SETTLE_WAIT_S:.0f} s for the tail sampler's decisions "
                f"(decision_wait {DECISION_WAIT_S:.0f}s) ...")
        _sleep(SETTLE_WAIT_S)

        since = self.since()
        settle = "0s" if answers.doctor_supports_settle(self.ui_url) else None
        answers.slowest(c, self.ui_url, since)
        answers.errors(c, self.ui_url, since)
        answers.find_user(c, self.ui_url, self.traffic.failed_checkouts() or self.traffic.remembered)
        answers.bottleneck(c, self.ui_url, since)
        answers.doctor(c, self.ui_url, since, settle)
        answers.section(c, "The UI")
        c.print(f"UI: {self.ui_url}   (a trace: {self.ui_url}/trace/TRACE_ID)", highlight=False)
        c.print(f"CLI: export SPANHOUSE_SERVER={self.ui_url}; spanhouse slowest", highlight=False)
        c.print("[dim]answers done[/dim]")

        if o.duration_s is None:
            c.print("\nTraffic goes on; press Ctrl-C to stop the demo.")
            again_at = time.time() + DOCTOR_AGAIN_S if settle is None else None
            while True:
                _sleep(1)
                if again_at is not None and time.time() >= again_at:
                    again_at = None
                    answers.doctor(c, self.ui_url, self.since(), None, again=True)
        while not self.deadline_reached():
            _sleep(0.5)
        return 0

    def print_setup(self, config: ShopConfig) -> None:
        c = self.console
        o = self.options
        p = config.ports
        c.print(f"  spanhouse serve   OTLP/gRPC 127.0.0.1:{config.otlp_endpoint.rsplit(':', 1)[1]}"
                f" · UI {self.ui_url} · data {self.data}", highlight=False)
        c.print(f"  shop              api-gateway :{p['api-gateway']} → auth-service "
                f":{p['auth-service']}, product-service :{p['product-service']} (SQLite + cache), "
                f"order-service :{p['order-service']} → payment-service :{p['payment-service']}, "
                "order-confirmations queue → email-worker", highlight=False)
        c.print("  faults            product list query without an index (~120 ms; 1.2 s for "
                "'clearance'), 20% of cards declined, 20% of emails greylisted (> 1 s)")
        c.print("  broken on purpose "
                + ("api-gateway drops the trace context on its calls to auth-service"
                   if o.break_context else "nothing on the calls (--no-break-context)") + "; "
                + ("order-service queues confirmations without trace headers"
                   if o.break_queue else "queue messages carry trace headers (--no-break-queue)"))
        c.print("  tail sampling     keep errors, slow (> 1 s), 5% of the rest "
                f"(decision_wait {DECISION_WAIT_S:.0f}s)")
        pids = " ".join(f"{name}={pid}" for name, pid in self.children.pids().items())
        c.print(f"[dim]demo pid={os.getpid()} children: {pids}[/dim]", highlight=False)

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        self.children.stop([n for n in SERVICES], grace_s=5)
        self.children.stop(["spanhouse-serve"], grace_s=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_demo(options: DemoOptions, console) -> int:
    """Run the demo; returns the exit code. Raises ``DemoError`` when it cannot start."""
    demo = Demo(options, console)

    def on_signal(signum, _frame):
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    code = 0
    try:
        code = demo.run()
    except (_Stopped, KeyboardInterrupt):
        console.print("\nStopping the demo ...")
    finally:
        # A second Ctrl-C must not leave children behind: ignore it while stopping.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            demo.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    console.print("demo stopped: every process it started has ended.")
    return code
