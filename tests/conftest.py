"""Shared fixtures: a real ``spanhouse serve`` process on free loopback ports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
_LISTEN = re.compile(r"^(OTLP/gRPC|OTLP/HTTP|Zipkin v2|Query/UI|Tempo API)\s+listening on (\S+):(\d+)")


@dataclass
class ServerProcess:
    """A running ``spanhouse serve``; ``stop()`` sends SIGTERM and waits for a clean exit."""

    proc: subprocess.Popen
    data_dir: Path
    ports: dict[str, int]
    output: list[str] = field(default_factory=list)

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['OTLP/gRPC']}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['OTLP/HTTP']}"

    @property
    def zipkin_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['Zipkin v2']}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['Query/UI']}"

    @property
    def tempo_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['Tempo API']}"

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.ui_url + path, timeout=30, **kw)

    def metric(self, name: str, **labels) -> float:
        """Sum of a Prometheus sample from /metrics whose labels include ``labels``."""
        total = 0.0
        for line in self.get("/metrics").text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            sample, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in sample for k, v in labels.items()):
                total += float(value)
        return total

    def wait_for_spans(self, trace_id: str, count: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        body = {}
        while time.monotonic() < deadline:
            r = self.get(f"/api/traces/{trace_id}")
            if r.status_code == 200:
                body = r.json()
                if len(body["data"][0]["spans"]) >= count:
                    return body
            time.sleep(0.2)
        raise AssertionError(f"trace {trace_id} did not reach {count} spans; last: {body}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("spanhouse serve did not stop in time:\n" + "".join(self.output))


def store_query(data_dir: Path, sql: str) -> list[list]:
    """Rows of ``sql`` over a (stopped) server's embedded store, run in a separate process
    (chDB opens one data directory per process)."""
    script = (
        "import json, sys, clickhouse_connect\n"
        "c = clickhouse_connect.get_client(dsn='chdb://' + sys.argv[1])\n"
        "print(json.dumps([list(r) for r in c.query(sys.argv[2]).result_rows], default=str))\n")
    out = subprocess.run([sys.executable, "-c", script, str(Path(data_dir).resolve()), sql],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def stored_span_counts(data_dir: Path) -> dict[str, int]:
    """Spans per trace id in a (stopped) server's embedded store."""
    rows = store_query(data_dir, "SELECT TraceId, count() FROM default.otel_traces GROUP BY TraceId")
    return {trace_id: count for trace_id, count in rows}


def start_server(data_dir: Path, *extra: str, env: dict | None = None, timeout: float = 60,
                 tempo: str | None = "127.0.0.1:0") -> ServerProcess:
    """``tempo``: the ``--tempo`` address (None: no flag, the default port)."""
    cmd = [sys.executable, "-m", "spanhouse.cli", "serve", "--data", str(data_dir),
           "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--zipkin", "127.0.0.1:0",
           "--ui", "127.0.0.1:0", *(("--tempo", tempo) if tempo else ()), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, env={**os.environ, **(env or {})})
    server = ServerProcess(proc, data_dir, {})

    def pump() -> None:
        for line in proc.stdout:
            server.output.append(line)
            match = _LISTEN.match(line)
            if match:
                server.ports[match.group(1)] = int(match.group(3))

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("spanhouse serve exited during start-up:\n" + "".join(server.output))
        if len(server.ports) >= 4:
            try:
                if server.get("/healthz").status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise AssertionError("spanhouse serve did not become healthy:\n" + "".join(server.output))


@pytest.fixture
def server_factory(tmp_path):
    """Start servers on demand; every one still running is stopped at teardown."""
    started: list[ServerProcess] = []

    def factory(*extra: str, data_dir: Path | None = None, **kw) -> ServerProcess:
        server = start_server(data_dir or tmp_path / "data", *extra, **kw)
        started.append(server)
        return server

    yield factory
    for server in started:
        if server.proc.poll() is None:
            server.stop()


@pytest.fixture
def server(server_factory) -> ServerProcess:
    return server_factory()
