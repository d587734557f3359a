"""TraceQL benchmark: issue 15's three queries over 10 million spans.

Fills a fresh embedded store the way ``bench/query.py`` does (same generated spans: 1,000,000
traces of 10 spans over 2 hours, 20 services, ~2% error traces, 5% of traces with
AdjustedCount 20), except that root spans carry ``http.route`` = one of ``/checkout``,
``/products``, ``/cart``, ``/search``, ``/login`` (so the structural query has something to
find), merges every table, then times each TraceQL query ``--repeat`` times through the real
``TraceQLEngine`` (parse, SQL, results) and prints the median and p95:

- ``{ resource.service.name = "service-3" && span.user.tier = "free" && duration > 500ms }``
  over the last hour (target: median < 300 ms);
- ``{ span.http.route = "/checkout" } >> { status = error }`` over the last hour (< 1 s);
- ``{ status = error } | rate() by (resource.service.name)`` over 1 h with a 1 m step (< 500 ms).

    .venv/bin/python bench/traceql.py [--spans 10000000] [--repeat 7]

A benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.query import FILL_SQL, SERVICES, SPANS_PER_TRACE, WINDOW_S, timed  # noqa: E402
from spanhouse.analysis.store import AnalysisStore  # noqa: E402
from spanhouse.query.service import QueryService  # noqa: E402
from spanhouse.query.traceql.engine import TraceQLEngine  # noqa: E402
from spanhouse.store.connection import open_client  # noqa: E402
from spanhouse.store.pool import Pool  # noqa: E402
from spanhouse.store.schema import create_schema  # noqa: E402

ROUTES = "if(i = 0, ['/checkout', '/products', '/cart', '/search', '/login'][1 + t % 5], '/api/products')"
FILL_TRACEQL_SQL = FILL_SQL.replace("'http.route', '/api/products'", f"'http.route', {ROUTES}")

SEARCH = '{ resource.service.name = "service-3" && span.user.tier = "free" && duration > 500ms }'
STRUCTURAL = '{ span.http.route = "/checkout" } >> { status = error }'
RATE = "{ status = error } | rate() by (resource.service.name)"


def fill(client, spans: int, now_ns: int) -> None:
    create_schema(client, "default", "otel_traces")
    client.command(FILL_TRACEQL_SQL.format(
        table="default.otel_traces", now_ns=now_ns, window_ns=WINDOW_S * 10**9,
        traces=spans // SPANS_PER_TRACE, services=SERVICES, spans=spans))
    for (table,) in client.query(
            "SELECT name FROM system.tables WHERE database = 'default' "
            "AND engine LIKE '%MergeTree'").result_rows:
        client.command(f"OPTIMIZE TABLE default.`{table}` FINAL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spanhouse-traceql-bench-") as data:
        endpoint = f"chdb://{data}"
        client = open_client(endpoint)
        now_ns = time.time_ns()
        began = time.perf_counter()
        fill(client, args.spans, now_ns)
        rows = client.query("SELECT count() FROM default.otel_traces").result_rows[0][0]
        print(f"loaded {rows:,} spans in {time.perf_counter() - began:.1f}s")
        service = QueryService(Pool(lambda: open_client(endpoint), size=2), "default", "otel_traces")
        engine = TraceQLEngine(AnalysisStore(None, "default", "otel_traces", query=service))
        hour_ago = now_ns - 3600 * 10**9
        cases = {
            "search: " + SEARCH: lambda: engine.search(SEARCH, hour_ago, now_ns, limit=20).traces,
            "structural: " + STRUCTURAL: lambda: engine.search(STRUCTURAL, hour_ago, now_ns,
                                                               limit=20).traces,
            "metrics: " + RATE: lambda: engine.metrics_range(RATE, hour_ago, now_ns,
                                                             60 * 10**9).series,
        }
        print(f"{'query':<100} {'median':>9} {'p95':>9}  results")
        for name, fn in cases.items():
            median, p95, result = timed(fn, args.repeat)
            print(f"{name:<100} {median:>7.1f}ms {p95:>7.1f}ms  {len(result)}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
