"""Sizing for docs/scaling.md: spans/s per core for each role, bytes per span stored, and the
projection to 1M spans/s, derived from the measured numbers of docs/performance.md.

    .venv/bin/python bench/scaling_sizing.py            # the tables, from the numbers below
    .venv/bin/python bench/scaling_sizing.py --measure  # also time the decode and the routing

Every input is a constant below with the benchmark that measured it, so the arithmetic of
docs/scaling.md can be re-run when a number in docs/performance.md changes. ``--measure`` times,
on one core, the decode of a logged request into a ``SpanBatch`` (what tail sampling pays per
span) and what a first-tier instance does per span besides receiving it: decode, split by
trace id into three parts and encode each part as OTLP protobuf again (the forwarding
exporter's ``encode_bytes``).

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# ``bench/ingest.py`` (gRPC, 4 clients, 2 cores, 2026-12-03): 59,500 spans/s stored, and each
# thread's share of a core from ``top -H`` (performance.md, "The store's own ceiling").
INGEST_RATE = 59_500
CORE_SHARE = {"event loop (gRPC + receivers)": 1.00, "check threads": 0.14,
              "log writer": 0.13, "INSERT": 0.59, "merges": 0.69}
# The same run, end to end: 13% of the 2 cores idle, so 1.74 cores busy (clients included).
# The thread shares above add up to more (2.55 cores without the clients: top's per-thread
# samples overlap), so costs derived from them are upper bounds; ``OVERCOUNT`` scales them
# down to the end-to-end figure for the lower bound.
END_TO_END_US = 2 * 0.87 * 1e6 / INGEST_RATE
OVERCOUNT = sum(CORE_SHARE.values()) * 1e6 / INGEST_RATE / END_TO_END_US
# ``bench/store_ceiling.py``: one INSERT stream of 50k-span native INSERTs, every view.
INSERT_US_PER_SPAN = 14.3
# performance.md, "Ingest": stand-alone decode of 1000-span requests to SpanBatch columns on
# one core (the range of its runs), and the tail-sampling buffer's compaction.
DECODE_SPANS_PER_S = (28_000, 50_000)
COMPACT_SPANS_PER_S = 336_000
# performance.md, "Ingest": ``batch_to_arrow`` on one core; the Python INSERT path that a
# ClickHouse server store takes for now (docs/ingest.md), paid by the second tier per kept span.
ARROW_SPANS_PER_S = 220_000
# ``bench/tail_sampling_memory.py``: Python heap per buffered span.
BUFFER_BYTES_PER_SPAN = 560
# ``bench/query.py --spans 1000000 --repeat 1`` (2026-12-03): compressed bytes per table.
MIB = 1024 * 1024
STORED_1M = {"otel_traces": 50.03 * MIB, "otel_traces_attributes": 37.75 * MIB,
             "otel_traces_span_graph": 17.22 * MIB, "otel_traces_trace_summary": 6.56 * MIB,
             "otel_traces_entry_error_spans": 2.87 * MIB, "otel_traces_trace_id_ts": 2.13 * MIB,
             "otel_traces_span_stats": 104.26 * 1024}


def us_per_span(share: float, rate: float = INGEST_RATE) -> float:
    """A thread's µs of CPU per span: its share of a core (1.0 = 1 s of CPU per second)."""
    return share * 1e6 / rate


def roles(decode_us: float = 1e6 / DECODE_SPANS_PER_S[0]) -> dict[str, float]:
    """µs of CPU per span for each role (upper bounds: see ``OVERCOUNT``)."""
    receive = us_per_span(CORE_SHARE["event loop (gRPC + receivers)"] + CORE_SHARE["check threads"])
    return {
        "receive + check (gRPC, event loop)": receive,
        "write-ahead log": us_per_span(CORE_SHARE["log writer"]),
        "tail sampling (decode + compact; policies not counted)":
            decode_us + 1e6 / COMPACT_SPANS_PER_S,
        "store INSERT, every view (one stream)": INSERT_US_PER_SPAN,
        "store merges (background)": us_per_span(CORE_SHARE["merges"]),
    }


def print_roles(decode_us: float) -> None:
    print(f"{'role':<56} {'µs/span':>8} {'spans/s per core':>17}")
    for name, us in roles(decode_us).items():
        print(f"{name:<56} {us:>8.1f} {1e6 / us:>17,.0f}")
    total = sum(us_per_span(v) for v in CORE_SHARE.values())
    print(f"(the threads' shares add up to {total:.1f} µs/span; the whole server measured "
          f"{END_TO_END_US:.1f}: shares overcount {OVERCOUNT:.2f}x)")


def print_storage() -> None:
    print(f"\n{'table (1M generated spans, compressed)':<40} {'bytes/span':>10}")
    for table, size in STORED_1M.items():
        print(f"{table:<40} {size / 1e6:>10.1f}")
    print(f"{'all tables':<40} {sum(STORED_1M.values()) / 1e6:>10.1f}")


def project(rate: float, keep: float, replicas: int, decision_wait_s: float,
            route_us: float, decode_us: float) -> None:
    """Cores per role for ``rate`` spans/s received, ``keep`` the share tail sampling stores.
    Each is printed as upper / lower bound: costs from the thread shares as they are, then
    scaled down by ``OVERCOUNT``; costs measured stand-alone are the same in both."""
    shares = roles(decode_us)
    receive = shares["receive + check (gRPC, event loop)"] + shares["write-ahead log"]
    sample = decode_us + 1e6 / COMPACT_SPANS_PER_S + keep * 1e6 / ARROW_SPANS_PER_S
    merge = shares["store merges (background)"] * replicas
    stored = rate * keep

    def cores(from_shares_us: float, measured_us: float, spans_per_s: float) -> str:
        upper = spans_per_s * (from_shares_us + measured_us) / 1e6
        lower = spans_per_s * (from_shares_us / OVERCOUNT + measured_us) / 1e6
        return f"{upper:6.1f} / {lower:5.1f} cores"

    buffered = rate * decision_wait_s * BUFFER_BYTES_PER_SPAN
    per_day = stored * 86_400 * sum(STORED_1M.values()) * replicas / 1e6
    print(f"\n{rate:,.0f} spans/s received, {keep:.0%} kept, {replicas} replicas, "
          f"decision_wait {decision_wait_s:g}s (upper / lower bound):")
    print(f"  first tier: receive + log + route       {cores(receive, route_us, rate)}")
    print(f"  second tier: receive + log + sample     {cores(receive, sample, rate)}, "
          f"{buffered / 2**30:.1f} GiB of buffered spans")
    print(f"  store INSERT of {stored:>9,.0f} spans/s    {cores(0, INSERT_US_PER_SPAN, stored)}"
          f" ({math.ceil(stored * INSERT_US_PER_SPAN / 1e6)} one-core INSERT streams)")
    print(f"  store merges, {replicas} replicas             {cores(merge, 0, stored)}")
    print(f"  stored per day, {replicas} replicas           {per_day / 1e12:6.2f} TB")


def measure_routing(requests: int = 20, repeat: int = 3) -> tuple[float, float]:
    """µs per span of the decode alone, and of the first tier's decode + split by trace id +
    encode, on one core (best of ``repeat``)."""
    from bench.workload import make_request
    from spanhouse.model.otlp_encode import encode_bytes
    from spanhouse.model.otlp_proto import decode_proto_bytes

    bodies = [make_request(50, 20, seed=i)[0].SerializeToString() for i in range(requests)]
    spans = requests * 1000
    decode = math.inf
    for _ in range(repeat):
        began = time.perf_counter()
        for body in bodies:
            decode_proto_bytes(body)
        decode = min(decode, time.perf_counter() - began)
    best = math.inf
    for _ in range(repeat):
        began = time.perf_counter()
        for body in bodies:
            batch = decode_proto_bytes(body).batch
            parts: dict[int, list[int]] = {}
            for i, trace_id in enumerate(batch.trace_id):
                parts.setdefault(hash(trace_id) % 3, []).append(i)
            for rows in parts.values():
                encode_bytes(batch.take(rows))
        best = min(best, time.perf_counter() - began)
    return decode * 1e6 / spans, best * 1e6 / spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", action="store_true",
                        help="time the first tier's decode + split + encode on one core")
    parser.add_argument("--route-us", type=float, default=None,
                        help="µs per span of the first tier's routing (default: measure or 60)")
    args = parser.parse_args()
    # Without --measure: performance.md's slowest decode, and routing as decode + encode at
    # that speed (an assumption, printed as such).
    decode_us = 1e6 / DECODE_SPANS_PER_S[0]
    route_us = 2 * decode_us if args.route_us is None else args.route_us
    if args.measure:
        decode_us, route_us = measure_routing()
        print(f"measured on one core: decode {decode_us:.1f} µs/span, decode + split by trace "
              f"id + encode {route_us:.1f} µs/span ({1e6 / route_us:,.0f} spans/s per core)\n")
    else:
        print(f"assumed (no --measure): decode {decode_us:.1f} µs/span, routing "
              f"{route_us:.1f} µs/span\n")
    print_roles(decode_us)
    print_storage()
    for keep in (1.0, 0.1):
        project(1_000_000, keep, replicas=2, decision_wait_s=10, route_us=route_us,
                decode_us=decode_us)


if __name__ == "__main__":
    main()
