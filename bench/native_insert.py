"""Micro-benchmark: the Python ingest path vs the native one (ClickHouse parses the protobuf).

N requests of ``bench.workload.make_request(50, 20)`` (1000 spans, ~10 attributes each) are
inserted into a fresh embedded chDB table in groups of G requests per INSERT, G = 10, 20, 50:

- python: ``decode_proto_bytes`` per request, ``SpanBatch.concat`` of the group, one
  ``TraceWriter.write`` (Arrow INSERT);
- native: ``native_compatible`` per request (from its bytes), ``encode_delimited`` of the group,
  one ``NativeProtobufInserter.insert_bytes`` (INSERT ... SELECT FROM file(..., 'Protobuf')).

Both are timed from the serialized requests to the acknowledged INSERT, single-threaded, with the
full Spanhouse schema (the exporter's trace-id view and Spanhouse's five views fill their tables
on every INSERT) and, with ``--views off``, into a bare copy of the traces table (the decoders
alone). Prints spans/s per configuration and the machine it ran on.

    .venv/bin/python bench/native_insert.py [--requests 100] [--groups 10,20,50] [--views both]

This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.workload import make_request  # noqa: E402
from spanhouse.model.batch import SpanBatch  # noqa: E402
from spanhouse.model.otlp_proto import decode_proto_bytes  # noqa: E402
from spanhouse.store.connection import open_client  # noqa: E402
from spanhouse.store.native_insert import (  # noqa: E402
    NativeProtobufInserter, encode_delimited, native_compatible,
)
from spanhouse.store.schema import create_schema  # noqa: E402
from spanhouse.store.writer import TraceWriter  # noqa: E402

DATABASE = "bench"


def machine_info(client) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import chdb
    import google.protobuf
    version = client.command("SELECT version()")
    return [
        f"machine: {platform.machine()} {platform.system()} {platform.release()}",
        f"cpu: {cpu} x {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))})",
        f"memory: {mem}",
        f"python {platform.python_version()}, protobuf {google.protobuf.__version__} "
        f"({google.protobuf.internal.api_implementation.Type()}), chdb {chdb.__version__}, "
        f"ClickHouse {version}",
    ]


def new_table(client, name: str, views: bool) -> None:
    if views:
        create_schema(client, DATABASE, name)
        return
    create_schema(client, DATABASE, "template_traces")  # once; cheap when it exists
    client.command(f"CREATE TABLE {DATABASE}.{name} AS {DATABASE}.template_traces")


def run_python(client, table: str, bodies: list[bytes], group: int) -> float:
    writer = TraceWriter(client, DATABASE, table)
    start = time.perf_counter()
    for lo in range(0, len(bodies), group):
        batch = SpanBatch.concat(decode_proto_bytes(b).batch for b in bodies[lo:lo + group])
        writer.write(batch)
    return time.perf_counter() - start


def run_native(client, table: str, bodies: list[bytes], group: int) -> float:
    inserter = NativeProtobufInserter(client, DATABASE, table)
    start = time.perf_counter()
    for lo in range(0, len(bodies), group):
        chunk = bodies[lo:lo + group]
        if not all(native_compatible(b) for b in chunk):
            raise SystemExit("the workload should be native-compatible")
        inserter.insert_bytes(encode_delimited(chunk))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests of 1000 spans per run")
    parser.add_argument("--groups", default="10,20,50", help="requests per INSERT")
    parser.add_argument("--views", choices=("on", "off", "both"), default="both",
                        help="with the schema's materialized views, without, or both")
    args = parser.parse_args()
    groups = [int(g) for g in args.groups.split(",")]

    data = tempfile.mkdtemp(prefix="spanhouse-bench-native-")
    client = open_client(f"chdb://{data}")
    for line in machine_info(client):
        print(line)
    print(f"workload: {args.requests} requests x 1000 spans (bench.workload.make_request(50, 20))")

    bodies = [make_request(50, 20)[0].SerializeToString() for _ in range(args.requests)]
    spans = 1000 * len(bodies)
    # warm up both paths (schema caches, first-query costs)
    new_table(client, "warmup_py", True)
    new_table(client, "warmup_native", True)
    run_python(client, "warmup_py", bodies[:2], 2)
    run_native(client, "warmup_native", bodies[:2], 2)

    modes = {"on": [True], "off": [False], "both": [True, False]}[args.views]
    print(f"\n{'views':<6} {'group':>5} {'spans/INSERT':>12} {'python spans/s':>15} "
          f"{'native spans/s':>15} {'speed-up':>9}")
    n = 0
    for views in modes:
        for group in groups:
            n += 1
            py_table, native_table = f"py_{n}", f"native_{n}"
            new_table(client, py_table, views)
            new_table(client, native_table, views)
            t_py = run_python(client, py_table, bodies, group)
            t_native = run_native(client, native_table, bodies, group)
            print(f"{'on' if views else 'off':<6} {group:>5} {1000 * group:>12} "
                  f"{spans / t_py:>15,.0f} {spans / t_native:>15,.0f} {t_py / t_native:>8.2f}x",
                  flush=True)
    client.close()


if __name__ == "__main__":
    main()
