"""A real OpenTelemetry SDK client, set up as the seed shows, that sends one nested trace.

Run as a script so it can use another virtual environment (the OTLP/JSON exporter pins other
versions of shared packages than the protobuf exporters):

    python sdk_client.py EXPORTER ENDPOINT

EXPORTER is grpc, http-proto, http-json or zipkin-json. It prints, as JSON, what the SDK
finished (ids, parents, kinds, times, attributes, events, links, status), so the test can
compare what the server stored against what was really sent.
"""

from __future__ import annotations

import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode


def make_exporter(kind: str, endpoint: str):
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True)
    if kind == "http-proto":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    if kind == "http-json":
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    if kind == "zipkin-json":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
        return ZipkinExporter(endpoint=f"{endpoint}/api/v2/spans")
    raise SystemExit(f"unknown exporter {kind}")


ATTRIBUTES = {
    "str.attr": "hello",
    "bool.attr": True,
    "int.attr": 42,
    "double.attr": 2.5,
    "str.list": ["a", "b"],
    "int.list": [1, 2, 3],
    "double.list": [0.5, 1.5],
    "bool.list": [True, False],
    "user.id": "user-42",
}


def send_trace(kind: str, endpoint: str) -> list[dict]:
    resource = Resource.create({"service.name": "api-gateway", "deployment.environment": "e2e"})
    provider = TracerProvider(resource=resource)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(BatchSpanProcessor(make_exporter(kind, endpoint)))
    tracer = provider.get_tracer("spanhouse.e2e", "1.2.3")

    with tracer.start_as_current_span("background-job") as other:
        other_ctx = other.get_span_context()
    with tracer.start_as_current_span("GET /checkout", kind=SpanKind.SERVER,
                                      attributes=ATTRIBUTES) as root:
        root.add_event("checkout.started", {"cart.items": 3, "coupon": "SAVE10"})
        with tracer.start_as_current_span(
                "process_order", links=[Link(other_ctx, {"link.reason": "batch"})]) as order:
            order.set_attribute("order.id", "o-1001")
            order.set_attribute("order.total", 99.95)
            with tracer.start_as_current_span("SELECT products", kind=SpanKind.CLIENT) as db:
                db.set_attribute("db.system", "sqlite")
                db.set_status(Status(StatusCode.ERROR, "disk I/O error"))
    provider.force_flush()
    provider.shutdown()

    out = []
    for span in memory.get_finished_spans():
        ctx = span.get_span_context()
        out.append({
            "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else "",
            "name": span.name,
            "kind": span.kind.name,  # INTERNAL, SERVER, CLIENT, ...
            "start_ns": span.start_time,
            "end_ns": span.end_time,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()},
            "events": [{"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes)}
                       for e in span.events],
            "links": [{"trace_id": f"{l.context.trace_id:032x}", "span_id": f"{l.context.span_id:016x}",
                       "attributes": dict(l.attributes)} for l in span.links],
            "status": span.status.status_code.name,
            "status_description": span.status.description or "",
            "scope": [span.instrumentation_scope.name, span.instrumentation_scope.version],
        })
    return out


if __name__ == "__main__":
    print(json.dumps(send_trace(sys.argv[1], sys.argv[2])))
