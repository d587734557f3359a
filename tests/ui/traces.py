"""Traces for the browser tests, sent by the real OTel SDK (as tests/e2e does) or, for the
10,000-span trace, as one OTLP/protobuf request built here."""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import httpx
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import start_server

MS = 1_000_000
SERVICES = ("api-gateway", "auth-service", "product-service", "checkout", "payment")
HUGE_ROOT, HUGE_WORKERS = "bulk-api", ("bulk-worker-a", "bulk-worker-b", "bulk-worker-c")


class Shop:
    """The seed's services, one TracerProvider (one service.name) each, context passed between
    them as propagation would."""

    def __init__(self, endpoint: str):
        self.providers = {}
        for name in SERVICES:
            provider = TracerProvider(resource=Resource.create({"service.name": name}))
            provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
                schedule_delay_millis=50))
            self.providers[name] = provider
        self.base = time.time_ns() - 30 * 60 * 10**9   # half an hour ago
        self.sent: dict[str, dict] = {}

    def span(self, service, name, start, duration_ms, parent=None, kind=SpanKind.INTERNAL,
             error: str | None = None, attributes=None):
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.providers[service].get_tracer("shop").start_span(
            name, context=context, kind=kind, start_time=start, attributes=attributes or {})
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=start + int(duration_ms * MS))
        return span

    def _record(self, root, **info) -> str:
        trace_id = format(root.get_span_context().trace_id, "032x")
        self.sent[trace_id] = info
        return trace_id

    def seed_trace(self, at_min: float) -> str:
        """The seed's picture: gateway [0,185]: auth [2,14] then product [15,183]; product: DB
        [40,160], cache [165,168]. The DB query is the bottleneck (120 of 185 ms)."""
        t0 = self.base + int(at_min * 60 * 10**9)
        root = self.span("api-gateway", "GET /products", t0, 185, kind=SpanKind.SERVER,
                         attributes={"user.id": "u-42", "http.route": "/products"})
        self.span("auth-service", "verify_token", t0 + 2 * MS, 12, parent=root, kind=SpanKind.SERVER)
        product = self.span("product-service", "GET /products", t0 + 15 * MS, 168, parent=root,
                            kind=SpanKind.SERVER)
        self.span("product-service", "SELECT products", t0 + 40 * MS, 120, parent=product,
                  kind=SpanKind.CLIENT, attributes={"db.system": "sqlite",
                                                    "db.statement": "SELECT * FROM products"})
        self.span("product-service", "GET products:list", t0 + 165 * MS, 3, parent=product,
                  kind=SpanKind.CLIENT, attributes={"db.system": "redis"})
        return self._record(root, kind="seed", start=t0, duration_ms=185, spans=5)

    def product_page(self, at_min: float, duration_ms: int, user: str) -> str:
        start = self.base + int(at_min * 60 * 10**9)
        root = self.span("api-gateway", "GET /products", start, duration_ms, kind=SpanKind.SERVER,
                         attributes={"user.id": user, "http.route": "/products"})
        server = self.span("product-service", "GET /products", start + 2 * MS, duration_ms - 20,
                           parent=root, kind=SpanKind.SERVER)
        self.span("product-service", "SELECT products", start + 3 * MS, duration_ms - 30,
                  parent=server, kind=SpanKind.CLIENT, attributes={"db.system": "sqlite"})
        return self._record(root, kind="product", start=start, duration_ms=duration_ms, spans=3)

    def failed_checkout(self, at_min: float, duration_ms: int) -> str:
        start = self.base + int(at_min * 60 * 10**9)
        root = self.span("api-gateway", "POST /checkout", start, duration_ms, kind=SpanKind.SERVER,
                         error="checkout failed", attributes={"user.id": "u-7"})
        order = self.span("checkout", "process_order", start + MS, duration_ms - 10, parent=root,
                          kind=SpanKind.SERVER, error="payment failed")
        self.span("payment", "charge_payment", start + 2 * MS, duration_ms - 20, parent=order,
                  kind=SpanKind.SERVER, error="card declined")
        return self._record(root, kind="error", start=start, duration_ms=duration_ms, spans=3)

    def flush(self) -> None:
        for provider in self.providers.values():
            assert provider.force_flush(30_000)
            provider.shutdown()


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def send_huge_trace(http_url: str, spans: int = 10_000) -> str:
    """One trace of ``spans`` spans (a root in bulk-api, 100 calls to bulk workers of 99 children
    each), sent as one OTLP/HTTP protobuf request."""
    rng = random.Random(7)
    trace_id = os.urandom(16)
    t0 = time.time_ns() - 20 * 60 * 10**9
    ids = [os.urandom(8) for _ in range(spans)]
    by_service: dict[str, list[Span]] = {}

    def add(service: str, i: int, parent: int | None, name: str, start: int, dur: int) -> None:
        by_service.setdefault(service, []).append(Span(
            trace_id=trace_id, span_id=ids[i], parent_span_id=ids[parent] if parent is not None else b"",
            name=name, kind=Span.SPAN_KIND_SERVER if parent in (None, 0) else Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start, end_time_unix_nano=start + dur,
            attributes=[_kv("item.index", str(i))]))

    add(HUGE_ROOT, 0, None, "GET /bulk", t0, 2_000 * MS)
    i = 1
    per_call = (spans - 1) // 100
    for call in range(100):
        service = HUGE_WORKERS[call % len(HUGE_WORKERS)]
        call_start = t0 + call * 19 * MS
        add(service, i, 0, f"batch {call}", call_start, 19 * MS)
        parent = i
        i += 1
        for child in range(per_call - 1):
            if i >= spans:
                break
            add(service, i, parent, f"item op-{child % 7}", call_start + child * 180_000,
                rng.randint(50_000, 170_000))
            i += 1
    while i < spans:   # the remainder, directly under the root
        add(HUGE_ROOT, i, 0, "tail", t0 + 1_950 * MS, MS)
        i += 1
    request = ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource={"attributes": [_kv("service.name", service)]},
                      scope_spans=[{"spans": spans_}])
        for service, spans_ in by_service.items()])
    response = httpx.post(f"{http_url}/v1/traces", content=request.SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=60)
    assert response.status_code == 200, response.text
    return trace_id.hex()


def wait_stored(server, shop: "Shop", extra_spans: int = 0, timeout_s: float = 60) -> None:
    """Wait until the server stored every span ``shop`` sent (plus ``extra_spans`` sent
    otherwise), and fail if it did not within ``timeout_s``."""
    total = sum(t["spans"] for t in shop.sent.values()) + extra_spans
    deadline = time.monotonic() + timeout_s
    while server.metric("spanhouse_spans_stored_total") < total and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.metric("spanhouse_spans_stored_total") == total



@contextmanager
def shop_served(data_dir: Path, send: Callable[["Shop"], dict]) -> Iterator[tuple]:
    """A real ``spanhouse serve`` on ``data_dir`` holding what ``send(shop)`` sent by the OTel
    SDK (every span stored): yields ``(server, shop, ids)``, ``ids`` being what ``send``
    returned; the server is stopped afterwards."""
    server = start_server(data_dir)
    try:
        shop = Shop(server.grpc_endpoint)
        ids = send(shop)
        shop.flush()
        wait_stored(server, shop)
        yield server, shop, ids
    finally:
        server.stop()
