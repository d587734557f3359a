"""The seed's picture, end to end: its trace (API Gateway 5 ms → Auth 12 ms → Product 45 ms →
DB 120 ms → Cache 3 ms, nested as a real request) sent through the OTel SDK to a real
``spanhouse serve``; ``spanhouse bottleneck`` names the DB query inside the product service."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from tests.conftest import REPO

MS = 1_000_000


def send_seed_trace(endpoint: str) -> str:
    providers = {}
    for name in ("api-gateway", "auth-service", "product-service"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True), schedule_delay_millis=50))
        providers[name] = provider
    t0 = time.time_ns() - 60 * 10**9

    def span(service, name, start_ms, end_ms, parent=None, kind=SpanKind.INTERNAL, **attributes):
        context = trace.set_span_in_context(parent) if parent is not None else None
        s = providers[service].get_tracer("seed").start_span(
            name, context=context, kind=kind, start_time=t0 + start_ms * MS, attributes=attributes)
        s.end(end_time=t0 + end_ms * MS)
        return s

    # gateway [0,185]: auth [2,14] then product [15,183]; product: DB [40,160], cache [165,168].
    root = span("api-gateway", "GET /products", 0, 185, kind=SpanKind.SERVER)
    span("auth-service", "verify_token", 2, 14, parent=root, kind=SpanKind.SERVER)
    product = span("product-service", "GET /products", 15, 183, parent=root, kind=SpanKind.SERVER)
    span("product-service", "SELECT products", 40, 160, parent=product, kind=SpanKind.CLIENT,
         **{"db.system": "sqlite", "db.statement": "SELECT * FROM products"})
    span("product-service", "GET products:list", 165, 168, parent=product, kind=SpanKind.CLIENT,
         **{"db.system": "redis"})
    for provider in providers.values():
        assert provider.force_flush(30_000)
        provider.shutdown()
    return format(root.get_span_context().trace_id, "032x")


def test_bottleneck_names_the_db_query_inside_the_product_service(server):
    trace_id = send_seed_trace(server.grpc_endpoint)
    server.wait_for_spans(trace_id, 5)
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "bottleneck", trace_id,
                          "--server", server.ui_url], capture_output=True, text=True, timeout=60,
                         cwd=REPO, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if l.startswith("bottleneck:"))
    assert "product-service → SELECT products" in line and "(sqlite)" in line
    assert "120 ms" in line and "65%" in line
    path = next(l for l in out.stdout.splitlines() if "→" in l and not l.startswith("bottleneck"))
    for hop in ("api-gateway", "auth-service 12 ms", "product-service 45 ms",
                "SELECT products (sqlite) 120 ms"):
        assert hop in path, path

    data = json.loads(subprocess.run(
        [sys.executable, "-m", "spanhouse.cli", "bottleneck", trace_id, "--json", "--server",
         server.ui_url], capture_output=True, text=True, timeout=60, cwd=REPO).stdout)
    b = data["bottleneck"]
    assert (b["service"], b["operation"], b["db_system"]) == ("product-service", "SELECT products", "sqlite")
    assert b["critical_path_ms"] == 120 and round(b["share"], 2) == 0.65
    assert data["duration_ms"] == 185
    api = server.get(f"/api/v1/bottleneck/{trace_id}").json()["data"]
    assert api["bottleneck"] == b
