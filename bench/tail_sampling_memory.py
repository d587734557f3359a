"""Memory of the tail-sampling buffer: bytes per buffered span, against the span's size as
OTLP protobuf.

Decodes workload requests (1000 spans each, 10 attributes per span) into SpanBatches, feeds
them to a real ``TailSamplingProcessor`` whose decision_wait is long enough that nothing is
decided, and measures the Python heap growth with ``tracemalloc`` (the decoded batches are
what the buffer holds; the protobuf bytes are freed after decoding).

    .venv/bin/python bench/tail_sampling_memory.py [--requests 100]

A benchmark, not a test: it asserts nothing. Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import make_request  # noqa: E402
from spanhouse.config.section import Section  # noqa: E402
from spanhouse.model.otlp_proto import decode_proto_bytes  # noqa: E402
from spanhouse.processors.tail_sampling.processor import TailSamplingProcessor  # noqa: E402
from spanhouse.telemetry import Telemetry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    bodies = [make_request(50, 20, service=f"svc-{i % 20}")[0].SerializeToString()
              for i in range(args.requests)]
    proto_bytes = sum(len(b) for b in bodies)
    spans = 1000 * args.requests
    section = Section({"decision_wait": "1h", "num_traces": 10**7,
                       "policies": [{"name": "errors", "type": "status_code",
                                     "status_code": {"status_codes": ["ERROR"]}}]}, "tail_sampling")
    processor = TailSamplingProcessor.from_config("tail_sampling", section, Telemetry())
    processor.tick_s = 3600
    processor.start(lambda batch: None)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for body in bodies:
        processor.consume(decode_proto_bytes(body).batch)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    buffered = processor._buffered_spans
    assert buffered == spans, (buffered, spans)

    per_span = (after - before) / spans
    proto_per_span = proto_bytes / spans
    print(f"buffered spans: {spans:,} in {len(processor._traces):,} traces")
    print(f"OTLP protobuf size: {proto_per_span:.0f} bytes/span")
    print(f"buffer memory:      {per_span:.0f} bytes/span ({per_span / proto_per_span:.2f}x protobuf)")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    processor.shutdown(0)


if __name__ == "__main__":
    main()
