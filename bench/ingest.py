"""Ingest benchmark: sustained spans/s into the embedded store, over OTLP/gRPC and OTLP/HTTP.

Starts a real ``spanhouse serve`` on a temporary data directory, then for each protocol runs
several concurrent clients that send pre-built 1000-span requests (~10 attributes per span) as
fast as the server accepts them (retrying when it pushes back). Throughput counts spans *stored*
(``spanhouse_spans_stored_total``), measured from the first request until the write queue has
drained. Also reports the server's peak RSS (VmHWM).

    .venv/bin/python bench/ingest.py [--seconds 20] [--clients 4] [--protocols grpc,http]
    .venv/bin/python bench/ingest.py --config FILE --requests 400   # e.g. tail sampling

With ``--config`` (a collector YAML, e.g. the seed's tail sampling) every request is sent once,
so every request has trace ids of its own, and the rate counts spans *accepted* (acknowledged)
while sending; the server's peak RSS is read once the pipeline is idle (nothing waits in the
write-ahead log).

This is a benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.workload import make_request  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LISTEN = re.compile(r"^(OTLP/gRPC|OTLP/HTTP|Zipkin v2|Query/UI)\s+listening on (\S+):(\d+)")


def start_server(data_dir: str, extra: list[str]) -> tuple[subprocess.Popen, dict[str, int]]:
    cmd = [sys.executable, "-m", "spanhouse.cli", "serve", "--data", data_dir,
           "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--zipkin", "127.0.0.1:0",
           "--ui", "127.0.0.1:0", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    ports: dict[str, int] = {}
    for line in proc.stdout:
        match = LISTEN.match(line)
        if match:
            ports[match.group(1)] = int(match.group(3))
        if len(ports) == 4:
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    ui = f"http://127.0.0.1:{ports['Query/UI']}"
    for _ in range(300):
        try:
            if httpx.get(ui + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return proc, ports


def metric(ui: str, name: str) -> float:
    total = 0.0
    for line in httpx.get(ui + "/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def grpc_client(endpoint: str, bodies: list[bytes], stop: threading.Event, counts: list[int], idx: int,
                once: bool = False):
    with grpc.insecure_channel(endpoint) as channel:
        export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        i = idx
        while not stop.is_set() and not (once and i >= len(bodies)):
            try:
                export(bodies[i % len(bodies)], timeout=30)
                counts[idx] += 1
                i += len(counts) if once else 1
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
                time.sleep(0.05)


def http_client(url: str, bodies: list[bytes], stop: threading.Event, counts: list[int], idx: int):
    with httpx.Client(timeout=30) as client:
        i = idx
        while not stop.is_set():
            r = client.post(url, content=bodies[i % len(bodies)],
                            headers={"Content-Type": "application/x-protobuf"})
            if r.status_code == 200:
                counts[idx] += 1
                i += 1
            elif r.status_code in (429, 503):
                time.sleep(0.05)
            else:
                raise RuntimeError(f"HTTP {r.status_code}: {r.content[:200]!r}")


def run_once(ports: dict, bodies: list[bytes], spans_per_request: int, clients: int) -> float:
    """Every request sent once over gRPC; accepted spans per second while sending."""
    stop = threading.Event()
    counts = [0] * clients
    endpoint = f"127.0.0.1:{ports['OTLP/gRPC']}"
    threads = [threading.Thread(target=grpc_client, args=(endpoint, bodies, stop, counts, i, True))
               for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) * spans_per_request / (time.monotonic() - began)


def wait_idle(ports: dict, timeout: float = 300) -> float:
    """Seconds until nothing waits in the write-ahead log (every span decided and stored)."""
    ui = f"http://127.0.0.1:{ports['Query/UI']}"
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if (metric(ui, "spanhouse_wal_backlog_spans") == 0
                and metric(ui, "spanhouse_wal_oldest_unstored_seconds") == 0):
            break
        time.sleep(0.5)
    return time.monotonic() - began


def run_protocol(protocol: str, ports: dict, bodies: list[bytes], spans_per_request: int,
                 seconds: float, clients: int) -> float:
    ui = f"http://127.0.0.1:{ports['Query/UI']}"
    stored_before = metric(ui, "spanhouse_spans_stored_total")
    stop = threading.Event()
    counts = [0] * clients
    if protocol == "grpc":
        target, args = grpc_client, f"127.0.0.1:{ports['OTLP/gRPC']}"
    else:
        target, args = http_client, f"http://127.0.0.1:{ports['OTLP/HTTP']}/v1/traces"
    threads = [threading.Thread(target=target, args=(args, bodies, stop, counts, i)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    accepted = sum(counts) * spans_per_request
    while metric(ui, "spanhouse_spans_stored_total") - stored_before < accepted:
        time.sleep(0.05)
    elapsed = time.monotonic() - began
    return accepted / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--protocols", default="grpc,http")
    parser.add_argument("--requests", type=int, default=60, help="distinct pre-built requests")
    parser.add_argument("--config", help="collector YAML to serve with; every request sent once")
    parser.add_argument("--server-args", default="", help="extra `spanhouse serve` flags, e.g. \"--wal-sync none\"")
    args = parser.parse_args()

    print(f"building {args.requests} requests of 1000 spans ...", flush=True)
    bodies = [make_request(50, 20, service=f"svc-{i % 20}")[0].SerializeToString()
              for i in range(args.requests)]
    print(f"request size: {len(bodies[0]) / 1024:.0f} KiB protobuf, 1000 spans, 10 attributes each")
    with tempfile.TemporaryDirectory(prefix="spanhouse-bench-") as data_dir:
        extra = args.server_args.split() + (["--config", args.config] if args.config else [])
        proc, ports = start_server(data_dir, extra)
        try:
            if args.config:
                rate = run_once(ports, bodies, 1000, args.clients)
                print(f"OTLP/grpc  {rate:>10,.0f} spans/s accepted with {args.config} "
                      f"({args.clients} clients, {len(bodies)} requests)", flush=True)
                print(f"pipeline idle after a further {wait_idle(ports):.0f}s")
                print(f"server peak RSS: {peak_rss_mb(proc.pid):.0f} MiB")
                return
            for protocol in args.protocols.split(","):
                rate = run_protocol(protocol, ports, bodies, 1000, args.seconds, args.clients)
                print(f"OTLP/{protocol:<4}  {rate:>10,.0f} spans/s sustained "
                      f"({args.clients} clients, {args.seconds:.0f}s)", flush=True)
            print(f"server peak RSS: {peak_rss_mb(proc.pid):.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(120)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
