"""ptars (Rust: protobuf bytes -> Arrow) on Spanhouse's workload, against ClickHouse's own parse.

Issue 11 asked to measure ptars + pyarrow beside the native INSERT (ClickHouse parses the
protobuf) and pick. This times ptars decoding 50 requests of
``bench.workload.make_request(50, 20)`` (50k spans) into one Arrow RecordBatch, and the pyarrow
kernels that flatten it to one row per span and one per attribute (the first steps of building
the insert table). ptars is not a Spanhouse dependency: ``pip install ptars`` to run this.

    .venv/bin/python bench/ptars_decode.py

A benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

from bench.workload import make_request  # noqa: E402


def main() -> None:
    try:
        import ptars
        import pyarrow.compute as pc
    except ImportError:
        raise SystemExit("ptars is not installed: pip install ptars")
    bodies = [make_request(50, 20)[0].SerializeToString() for _ in range(50)]
    handler = ptars.HandlerPool([ExportTraceServiceRequest.DESCRIPTOR.file]).get_for_message(
        ExportTraceServiceRequest.DESCRIPTOR)
    handler.list_to_record_batch(bodies[:2])
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        batch = handler.list_to_record_batch(bodies)
        best = min(best, time.perf_counter() - start)
    start = time.perf_counter()
    resource_spans = pc.list_flatten(batch.column("resource_spans"))
    scope_spans = pc.list_flatten(pc.struct_field(resource_spans, "scope_spans"))
    spans = pc.list_flatten(pc.struct_field(scope_spans, "spans"))
    attributes = pc.list_flatten(pc.struct_field(spans, "attributes"))
    flatten = time.perf_counter() - start
    print(f"ptars {ptars.__version__}: decode of 50 requests ({len(spans):,} spans, "
          f"{len(attributes):,} attributes): {best * 1000:.0f} ms = {len(spans) / best:,.0f} spans/s "
          f"(best of 5); flattening to spans and attributes: {flatten * 1000:.1f} ms")


if __name__ == "__main__":
    main()
