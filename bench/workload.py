"""Synthetic OTLP requests, shared by the benchmarks and the load tests.

Each span carries ~10 attributes of mixed types, like real HTTP/DB instrumentation.
"""

from __future__ import annotations

import os
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

SERVICES = ["api-gateway", "auth-service", "product-service", "cart-service", "payment-service"]


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def make_request(n_traces: int, spans_per_trace: int, service: str = "api-gateway",
                 start_ns: int | None = None, seed: int | None = None) -> tuple[ExportTraceServiceRequest, list[str]]:
    """A request of ``n_traces * spans_per_trace`` spans; returns it and its trace ids (hex)."""
    start_ns = start_ns or time.time_ns()
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", service), _kv("host.name", "node-1"),
                                   _kv("service.version", "1.4.2")])
    ss = rs.scope_spans.add()
    ss.scope.name = "bench.workload"
    ss.scope.version = "1.0"
    trace_ids = []
    for t in range(n_traces):
        trace_id = os.urandom(16)
        trace_ids.append(trace_id.hex())
        parent = b""
        for i in range(spans_per_trace):
            span_id = os.urandom(8)
            begin = start_ns + i * 1_000_000
            ss.spans.append(Span(
                trace_id=trace_id, span_id=span_id, parent_span_id=parent,
                name="GET /api/products" if i == 0 else f"SELECT products {i % 7}",
                kind=Span.SPAN_KIND_SERVER if i == 0 else Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=begin, end_time_unix_nano=begin + 5_000_000 + i * 1000,
                attributes=[
                    _kv("http.method", "GET"), _kv("http.route", "/api/products"),
                    _kv("http.status_code", 200), _kv("user.id", f"user-{(t * 31 + i) % 5000}"),
                    _kv("order.id", f"o-{t}"), _kv("db.system", "sqlite"),
                    _kv("db.statement", "SELECT * FROM products WHERE id = ?"),
                    _kv("net.peer.port", 5432), _kv("cache.hit", i % 2 == 0),
                    _kv("order.total", 99.5 + i),
                ],
                status=Status(code=Status.STATUS_CODE_UNSET),
            ))
            parent = parent or span_id
    return request, trace_ids
