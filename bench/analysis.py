"""Analysis benchmark: a bottleneck (one trace and one endpoint), the doctor and compare over
an hour holding ``--spans / 10`` traces.

Fills a fresh embedded store with the same generated data as ``bench/query.py`` (spans over the
last 2 hours, so the last hour holds about half of them), then times each analysis
``--repeat`` times through the real ``AnalysisStore`` and prints the median and p95.

    .venv/bin/python bench/analysis.py [--spans 20000000] [--repeat 3]

The default, 20M spans, puts about 1 million traces in the last hour (the target of issue 5:
under 2 s each). A benchmark, not a test: it asserts nothing. Results go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.query import fill, timed  # noqa: E402
from spanhouse.analysis.bottleneck import endpoint_bottlenecks, trace_bottleneck  # noqa: E402
from spanhouse.analysis.compare import compare  # noqa: E402
from spanhouse.analysis.doctor import facts as doctor_facts  # noqa: E402
from spanhouse.analysis.doctor import run_doctor  # noqa: E402
from spanhouse.analysis.doctor.relations import Kinds  # noqa: E402
from spanhouse.analysis.store import AnalysisStore  # noqa: E402
from spanhouse.store.connection import open_client  # noqa: E402
from spanhouse.store.pool import Pool  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="keep the store in this directory and reuse it when it "
                        "is already filled (for iterating; the windows stay those of the fill)")
    parser.add_argument("--only", default="", help="time only the analyses whose name "
                        "contains this text")
    parser.add_argument("--no-additions", action="store_true",
                        help="read the traces table only (the code path of a table the "
                        "collector's exporter created)")
    parser.add_argument("--every-relation-query", action="store_true",
                        help="make the doctor run every relation query (broken named and "
                        "unnamed calls, queue hops, clock skew) as if the window had client, "
                        "producer, consumer and nested server spans: the generated data has "
                        "none of those, so this times the worst case")
    args = parser.parse_args()
    if args.every_relation_query:
        # facts.py calls count_kinds through its module global: patch it there
        doctor_facts.count_kinds = lambda ctx: Kinds(named=1, unnamed=1, producers=1,
                                                     consumers=1, calls=1)

    with (nullcontext(args.data) if args.data
          else tempfile.TemporaryDirectory(prefix="spanhouse-abench-")) as data:
        endpoint = f"chdb://{data}"
        client = open_client(endpoint)
        stamp = Path(data) / "bench-now-ns"
        began = time.perf_counter()
        if args.data and stamp.exists():
            now_ns = int(stamp.read_text())
        else:
            now_ns = time.time_ns()
            fill(client, args.spans, now_ns)
            if args.data:
                stamp.write_text(str(now_ns))
        load_s = time.perf_counter() - began
        hour_ago = now_ns - 3600 * 10**9
        in_hour = client.query(
            "SELECT uniqExact(TraceId) FROM default.otel_traces WHERE Timestamp >= "
            "fromUnixTimestamp64Nano({s:Int64})", parameters={"s": hour_ago}).result_rows[0][0]
        print(f"loaded {args.spans:,} spans in {load_s:.1f}s; {in_hour:,} traces in the last hour")
        trace_id, service, operation = client.query(
            "SELECT TraceId, ServiceName, SpanName FROM default.otel_traces "
            "WHERE ParentSpanId = '' AND Timestamp >= fromUnixTimestamp64Nano({s:Int64}) LIMIT 1",
            parameters={"s": hour_ago}).result_rows[0]

        store = AnalysisStore(Pool(lambda: open_client(endpoint), size=2), "default", "otel_traces",
                              use_additions=not args.no_additions)
        # Each run asks for an hour ending one second earlier than the run before, as a user
        # asking for "the last hour" again would: ClickHouse's query condition cache keeps
        # which granules a filter (with its constants) excluded, so repeating one window
        # exactly would time the cache instead of the analysis.
        runs = itertools.count()

        def window() -> tuple[int, int]:
            shift = next(runs) * 10**9
            return hour_ago - shift, now_ns - shift

        cases = {
            "bottleneck of one trace": lambda: trace_bottleneck(store, trace_id),
            f"bottleneck of endpoint ({service} {operation})": lambda: endpoint_bottlenecks(
                store, service, operation, *window()),
            "doctor (last hour)": lambda: run_doctor(store, *window()),
            "compare duration>p95 (last hour)": lambda: compare(store, "duration>p95", *window()),
        }
        print(f"{'analysis':<58} {'median':>9} {'p95':>9}")
        for name, fn in cases.items():
            if args.only not in name:
                continue
            median, p95, _ = timed(fn, args.repeat)
            print(f"{name:<58} {median:>7.0f}ms {p95:>7.0f}ms")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
