"""The store's own ceiling: how many spans/s one INSERT stream can write, with and without each
materialized view.

Issue 11 asks for 150,000 spans/s end to end on this 2-core machine. This benchmark measures
the part no receiver, log or decoder change can speed up: ClickHouse writing the rows. It
inserts N requests of ``bench.workload.make_request(50, 20)`` (1000 spans, ~10 attributes each)
50 requests (50k spans) per INSERT, through the native path (ClickHouse parses the protobuf,
``NativeProtobufInserter``: the fastest path Spanhouse has), single-threaded, into a fresh
embedded store with Spanhouse's full schema; then again with each materialized view dropped in
turn, and with every view dropped (the exporter's traces table alone). Background merges are
not counted (they come on top, on the same cores).

    .venv/bin/python bench/store_ceiling.py [--requests 100]

This is a benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.native_insert import machine_info  # noqa: E402
from bench.workload import make_request  # noqa: E402
from spanhouse.store.connection import open_client  # noqa: E402
from spanhouse.store.native_insert import NativeProtobufInserter, encode_delimited  # noqa: E402
from spanhouse.store.schema import create_schema  # noqa: E402

DATABASE = "bench"
GROUP = 50   # requests (of 1000 spans) per INSERT


def views_of(client, table: str) -> list[str]:
    rows = client.query("SELECT name FROM system.tables WHERE database = {d:String} AND "
                        "engine = 'MaterializedView' AND name LIKE {p:String} ORDER BY name",
                        parameters={"d": DATABASE, "p": f"{table}\\_%"}).result_rows
    return [r[0][len(table) + 1:] for r in rows]


def run(client, table: str, drop: list[str], bodies: list[bytes]) -> float:
    create_schema(client, DATABASE, table)
    for view in drop:
        client.command(f"DROP VIEW {DATABASE}.{table}_{view}")
    inserter = NativeProtobufInserter(client, DATABASE, table)
    start = time.perf_counter()
    for lo in range(0, len(bodies), GROUP):
        inserter.insert_bytes(encode_delimited(bodies[lo:lo + GROUP]))
    return 1000 * len(bodies) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests of 1000 spans per run")
    args = parser.parse_args()
    client = open_client(f"chdb://{tempfile.mkdtemp(prefix='spanhouse-bench-ceiling-')}")
    for line in machine_info(client):
        print(line)
    bodies = [make_request(50, 20)[0].SerializeToString() for _ in range(args.requests)]
    run(client, "warmup", [], bodies[:GROUP])
    views = views_of(client, "warmup")
    print(f"workload: {args.requests} requests x 1000 spans, {GROUP}k spans per INSERT (native)")
    print(f"{'store':<40} {'spans/s':>10} {'us/span':>8}")
    cases = [("every view", [])] + [(f"without {v}", [v]) for v in views] + [("no view", views)]
    for n, (label, drop) in enumerate(cases):
        rate = run(client, f"t{n}", drop, bodies)
        print(f"{label:<40} {rate:>10,.0f} {1e6 / rate:>8.1f}", flush=True)
    client.close()


if __name__ == "__main__":
    main()
