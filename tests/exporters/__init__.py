"""Shared test data for the exporter tests: an OTLP request that uses every field the model
carries (every AnyValue type, events, links, trace state, flags, dropped counts, status) over
several resources and scopes."""

from __future__ import annotations

import os
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_proto import decode_request


def any_value(value) -> AnyValue:
    """A Python value as an AnyValue: list -> array, dict or a tuple of (key, value) pairs
    (duplicate keys allowed) -> kvlist, None -> empty, str -> string."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        value = tuple(value.items())
    if isinstance(value, tuple):
        return AnyValue(kvlist_value=KeyValueList(values=[kv(k, v) for k, v in value]))
    return AnyValue(string_value=value)


def kv(key: str, value) -> KeyValue:
    return KeyValue(key=key, value=any_value(value))


# One attribute of every AnyValue type (and the awkward corners of each).
EVERY_TYPE = {
    "str": "hello",
    "str.empty": "",
    "bool.t": True,
    "bool.f": False,
    "int": 42,
    "int.neg": -7,
    "int.big": 2**62,
    "double": 0.25,
    "double.tiny": 1e-7,
    "double.whole": 3.0,
    "double.nan": float("nan"),
    "double.inf": float("-inf"),
    "bytes": b"\x00\x01\xfe",
    "array": [1, "a", True, 2.5, None, [1, 2], {"k": "v"}],
    "array.empty": [],
    "kvlist": {"b": 1, "a": "x", "nested": {"z": [True]}},
    "kvlist.empty": {},
    "empty": None,
}


def make_request(trace_id: bytes | None = None, start_ns: int | None = None
                 ) -> tuple[ExportTraceServiceRequest, str]:
    """A 5-span trace over two resources (the first with two scopes). Returns it and the
    trace id (hex)."""
    trace_id = trace_id or os.urandom(16)
    start = start_ns or time.time_ns() - 10_000_000_000
    other_trace = os.urandom(16)
    ids = [os.urandom(8) for _ in range(5)]
    req = ExportTraceServiceRequest()

    rs = req.resource_spans.add()
    rs.resource.attributes.extend([kv("service.name", "api-gateway"),
                                   kv("deployment.environment", "test"), kv("host.cores", 8)])
    rs.resource.dropped_attributes_count = 1
    ss = rs.scope_spans.add()
    ss.scope.name = "spanhouse.test"
    ss.scope.version = "1.2.3"
    ss.spans.append(Span(
        trace_id=trace_id, span_id=ids[0], name="GET /checkout", kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=start, end_time_unix_nano=start + 50_000_123,
        attributes=[kv(k, v) for k, v in EVERY_TYPE.items()],
        trace_state="vendor=a,other=b", flags=0x101,
        dropped_attributes_count=2, dropped_events_count=3, dropped_links_count=4,
        status=Status(code=Status.STATUS_CODE_OK),
        events=[
            Span.Event(time_unix_nano=start + 1_000, name="checkout.started",
                       attributes=[kv("cart.items", 3), kv("coupon", "SAVE10"),
                                   kv("ratio", 0.5)], dropped_attributes_count=1),
            Span.Event(time_unix_nano=start + 2_000, name="no-attrs"),
        ],
        links=[
            Span.Link(trace_id=other_trace, span_id=ids[4], trace_state="l=1",
                      attributes=[kv("link.kind", "batch"), kv("link.n", 2)],
                      dropped_attributes_count=5, flags=1),
        ],
    ))
    ss.spans.append(Span(
        trace_id=trace_id, span_id=ids[1], parent_span_id=ids[0], name="SELECT orders",
        kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start + 5_000_000,
        end_time_unix_nano=start + 25_000_000,
        attributes=[kv("db.system", "postgresql"), kv("db.rows", 12)],
        status=Status(code=Status.STATUS_CODE_ERROR, message="deadlock detected"),
    ))
    ss2 = rs.scope_spans.add()
    ss2.scope.name = "other.lib"
    ss2.spans.append(Span(
        trace_id=trace_id, span_id=ids[2], parent_span_id=ids[0], name="render",
        kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start + 30_000_000,
        end_time_unix_nano=start + 31_000_000,
    ))

    rs2 = req.resource_spans.add()
    rs2.resource.attributes.extend([kv("service.name", "worker"), kv("queue", "orders")])
    ss3 = rs2.scope_spans.add()
    ss3.scope.name = "worker.lib"
    ss3.scope.version = "0.1"
    ss3.spans.append(Span(
        trace_id=trace_id, span_id=ids[3], parent_span_id=ids[1], name="process order",
        kind=Span.SPAN_KIND_CONSUMER, start_time_unix_nano=start + 40_000_000,
        end_time_unix_nano=start + 45_000_000,
        attributes=[kv("messaging.system", "kafka"), kv("retry", False)],
        links=[Span.Link(trace_id=trace_id, span_id=ids[0])],
    ))
    ss3.spans.append(Span(
        trace_id=trace_id, span_id=ids[4], parent_span_id=ids[3], name="producer",
        kind=Span.SPAN_KIND_PRODUCER, start_time_unix_nano=start + 41_000_000,
        end_time_unix_nano=start + 42_000_000,
    ))
    return req, trace_id.hex()


def make_batch(trace_id: bytes | None = None) -> tuple[SpanBatch, str]:
    req, tid = make_request(trace_id)
    result = decode_request(req)
    assert result.rejected == 0, result.error_message
    return result.batch, tid


SPANS_PER_TRACE = 5
