"""Query benchmark: the three queries, a search and a trace fetch over 10 million spans.

Fills a fresh embedded store (chDB) with ``--spans`` spans (default 10,000,000: 1,000,000
traces of 10 spans over the last 2 hours, 20 services, ~2% error spans that propagate to their
trace's root, user.id/order.id/http attributes, a 5% share of traces with AdjustedCount 20),
generated inside ClickHouse with ``INSERT ... SELECT FROM numbers()`` so the load takes
seconds, then times each query ``--repeat`` times through the real ``QueryService`` and prints
the median and p95.

    .venv/bin/python bench/query.py [--spans 10000000] [--repeat 7] [--no-additions]

``--no-additions`` times the query service without Spanhouse's schema additions (summary table,
attribute index, entry/error spans: the code path of a table created by the collector's
exporter) on the same data. The load time includes filling the additions' views; the stored
size of every table is printed after the load.

A benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spanhouse.query.model import AttributeFilter, SearchQuery  # noqa: E402
from spanhouse.query.service import QueryService  # noqa: E402
from spanhouse.store.connection import open_client  # noqa: E402
from spanhouse.store.pool import Pool  # noqa: E402
from spanhouse.store.schema import create_schema  # noqa: E402

SPANS_PER_TRACE = 10
SERVICES = 20
WINDOW_S = 7200

# One row per span: trace t = number / 10, span i = number % 10; the span tree is a chain of
# fan-out 3 (parent of i is (i - 1) / 3). Everything derives from cityHash64 of the numbers,
# so a run is reproducible.
FILL_SQL = """
INSERT INTO {table} (Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
    ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration,
    StatusCode, StatusMessage, AdjustedCount, SamplingPolicy)
SELECT
    fromUnixTimestamp64Nano(toInt64({now_ns} - {window_ns} * (t / {traces}) + i * 2000000)) AS Timestamp,
    lower(hex(reinterpretAsFixedString(cityHash64(t, 1)))) || lower(hex(reinterpretAsFixedString(cityHash64(t, 2)))) AS TraceId,
    lower(hex(reinterpretAsFixedString(cityHash64(number, 3)))) AS SpanId,
    if(i = 0, '', lower(hex(reinterpretAsFixedString(cityHash64(t * 10 + intDiv(i - 1, 3), 3))))) AS ParentSpanId,
    '' AS TraceState,
    if(i = 0, ['GET /checkout', 'GET /products', 'POST /cart', 'GET /search', 'POST /login'][1 + t % 5],
              ['SELECT products', 'charge_payment', 'validate_inventory', 'cache.get', 'send_confirmation',
               'HTTP GET', 'render', 'auth.check'][1 + (cityHash64(number, 4) % 8)]) AS SpanName,
    if(i = 0, 'Server', if(i % 3 = 1, 'Client', 'Internal')) AS SpanKind,
    concat('service-', toString((t + i * 7) % {services})) AS ServiceName,
    map('service.name', concat('service-', toString((t + i * 7) % {services})),
        'host.name', concat('node-', toString(cityHash64(t, 5) % 50))) AS ResourceAttributes,
    'bench' AS ScopeName, '1.0' AS ScopeVersion,
    map('user.id', toString(cityHash64(t, 6) % 100000), 'order.id', concat('o-', toString(t)),
        'http.method', 'GET', 'http.route', '/api/products', 'http.status_code',
        if(err, '500', '200'), 'db.system', 'sqlite', 'net.peer.port', '5432',
        'user.tier', if(cityHash64(t, 7) % 10 = 0, 'free', 'paid')) AS SpanAttributes,
    toUInt64(if(i = 0, 50000000 + (cityHash64(t, 8) % 2000000000), 1000000 + (cityHash64(number, 9) % 40000000))) AS Duration,
    if(err, 'Error', 'Unset') AS StatusCode,
    if(err, 'card declined', '') AS StatusMessage,
    if(cityHash64(t, 11) % 20 = 0, 20.0, 1.0) AS AdjustedCount,
    if(cityHash64(t, 11) % 20 = 0, 'default', '') AS SamplingPolicy
FROM (
    SELECT number, intDiv(number, 10) AS t, number % 10 AS i,
           (cityHash64(intDiv(number, 10), 10) % 50 = 0) AND (i = 0 OR i = 1 OR i = 4) AS err
    FROM numbers({spans})
)
"""


def fill(client, spans: int, now_ns: int) -> None:
    """Create the schema in ``default`` and load ``spans`` generated spans (``FILL_SQL``) ending
    at ``now_ns``; then merge every table (the traces table and the additions) for a steady
    state, so that no background merge competes with the timed queries for the 2 cores."""
    create_schema(client, "default", "otel_traces")
    client.command(FILL_SQL.format(table="default.otel_traces", now_ns=now_ns,
                                   window_ns=WINDOW_S * 10**9, traces=spans // SPANS_PER_TRACE,
                                   services=SERVICES, spans=spans))
    for (table,) in client.query(
            "SELECT name FROM system.tables WHERE database = 'default' "
            "AND engine LIKE '%MergeTree'").result_rows:
        client.command(f"OPTIMIZE TABLE default.`{table}` FINAL")


def timed(fn, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-additions", action="store_true",
                        help="query the traces table only (the exporter-table code path)")
    args = parser.parse_args()
    traces = args.spans // SPANS_PER_TRACE

    with tempfile.TemporaryDirectory(prefix="spanhouse-qbench-") as data:
        endpoint = f"chdb://{data}"
        client = open_client(endpoint)
        now_ns = time.time_ns()
        began = time.perf_counter()
        fill(client, args.spans, now_ns)
        load_s = time.perf_counter() - began
        rows = client.query("SELECT count() FROM default.otel_traces").result_rows[0][0]
        print(f"loaded {rows:,} spans ({traces:,} traces) in {load_s:.1f}s")
        for table, parts_rows, size in client.query(
                "SELECT table, sum(rows), formatReadableSize(sum(data_compressed_bytes)) "
                "FROM system.parts WHERE active AND database = 'default' "
                "GROUP BY table ORDER BY table").result_rows:
            print(f"  {table:<36} {parts_rows:>12,} rows {size:>12}")
        sample = client.query(
            "SELECT TraceId, SpanAttributes['user.id'], toUnixTimestamp64Nano(Timestamp) "
            "FROM default.otel_traces WHERE ParentSpanId = '' LIMIT 1 OFFSET 4321").result_rows[0]
        trace_id, user_id, user_ts = sample

        service = QueryService(Pool(lambda: open_client(endpoint), size=2), "default", "otel_traces",
                               use_additions=not args.no_additions)
        hour_ago = now_ns - 3600 * 10**9
        cases = {
            "slowest (last hour)": lambda: service.slowest(hour_ago, now_ns, limit=20),
            "errors by service (last hour)": lambda: service.errors_by_service(hour_ago, now_ns),
            "find user.id at T (±15 min)": lambda: service.find_by_attribute(
                "user.id", user_id, user_ts, 15 * 60 * 10**9, limit=20),
            "search (service + attr + min duration)": lambda: service.search(SearchQuery(
                start_ns=hour_ago, end_ns=now_ns, service="service-3",
                attributes=(AttributeFilter("user.tier", "free"),),
                trace_min_duration_ns=500 * 10**6, limit=20, sort="slowest")),
            "trace by id": lambda: service.get_trace(trace_id),
        }
        print(f"{'query':<42} {'median':>9} {'p95':>9}  results")
        for name, fn in cases.items():
            median, p95, result = timed(fn, args.repeat)
            print(f"{name:<42} {median:>7.1f}ms {p95:>7.1f}ms  {len(result)}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
