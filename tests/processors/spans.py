"""Building test batches through the real decoder: an OTLP request in, a SpanBatch out."""

from __future__ import annotations

import os

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_proto import decode_request


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def trace_batch(traces: list[dict], service: str = "svc") -> SpanBatch:
    """One batch; each trace dict: ``id`` (hex, optional), ``spans`` (int, default 2),
    ``error`` (bool), ``duration_ms`` (root duration), ``attrs`` (root attributes),
    ``root`` (bool, default True: include the root span)."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    ss = rs.scope_spans.add()
    start = 1_700_000_000_000_000_000
    for t in traces:
        trace_id = bytes.fromhex(t["id"]) if "id" in t else os.urandom(16)
        t["id"] = trace_id.hex()
        root_id = os.urandom(8)
        duration = int(t.get("duration_ms", 10) * 1e6)
        for i in range(t.get("spans", 2)):
            if i == 0 and not t.get("root", True):
                continue
            span = Span(trace_id=trace_id, span_id=root_id if i == 0 else os.urandom(8),
                        parent_span_id=b"" if i == 0 else root_id, name=f"op{i}",
                        start_time_unix_nano=start, end_time_unix_nano=start + (duration if i == 0 else 1000),
                        kind=Span.SPAN_KIND_SERVER if i == 0 else Span.SPAN_KIND_INTERNAL)
            first = i == 0 or (i == 1 and not t.get("root", True))
            if first:
                span.attributes.extend(kv(k, v) for k, v in t.get("attrs", {}).items())
                if t.get("error"):
                    span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
            ss.spans.append(span)
    return decode_request(request).batch


class Recorder:
    """The next consumer in a unit test: records what it is given (optionally refusing)."""

    def __init__(self, refuse: int = 0):
        self.batches: list[SpanBatch] = []
        self.refuse = refuse

    def __call__(self, batch: SpanBatch) -> None:
        from spanhouse.errors import Overloaded

        if self.refuse > 0:
            self.refuse -= 1
            raise Overloaded("test refusal", 0.01)
        self.batches.append(batch)

    @property
    def spans(self) -> int:
        return sum(len(b) for b in self.batches)

    @property
    def trace_ids(self) -> set[str]:
        return {t for b in self.batches for t in b.trace_id}
