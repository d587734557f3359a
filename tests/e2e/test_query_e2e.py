"""The seed's three queries, search and dependencies, end to end: a data set with known answers
sent by the real OTel SDK (one TracerProvider per service, context passed between them as
propagation would) to a real ``spanhouse serve``, then asked through ``/api/v1``, the CLI's
``--json`` and Jaeger's API. Every expected value is derived from what the test sent."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import REPO

MS = 1_000_000
SLOW_MS = [2500, 1800, 1200]
FAST_MS = [100, 110, 120, 130, 140]
ERROR_MS = [300, 320]


class Shop:
    """The seed's services, each with its own provider (its own service.name)."""

    def __init__(self, endpoint: str):
        self.providers = {}
        for name in ("api-gateway", "product-service", "checkout", "payment"):
            provider = TracerProvider(resource=Resource.create({"service.name": name}))
            provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
                schedule_delay_millis=50))
            self.providers[name] = provider
        self.base = time.time_ns() - 30 * 60 * 10**9   # half an hour ago
        self.sent: dict[str, dict] = {}

    def tracer(self, service: str):
        return self.providers[service].get_tracer("shop")

    def span(self, service, name, start, duration_ms, parent=None, kind=SpanKind.INTERNAL,
             error: str | None = None, attributes=None):
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer(service).start_span(name, context=context, kind=kind, start_time=start,
                                               attributes=attributes or {})
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=start + duration_ms * MS)
        return span

    def product_page(self, at_min: float, duration_ms: int, user: str) -> str:
        start = self.base + int(at_min * 60 * 10**9)
        root = self.span("api-gateway", "GET /products", start, duration_ms, kind=SpanKind.SERVER,
                         attributes={"user.id": user, "http.method": "GET"})
        client = self.span("api-gateway", "GET product-service", start + MS, duration_ms - 10,
                           parent=root, kind=SpanKind.CLIENT)
        server = self.span("product-service", "GET /products", start + 2 * MS, duration_ms - 20,
                           parent=client, kind=SpanKind.SERVER)
        self.span("product-service", "SELECT products", start + 3 * MS, duration_ms - 30,
                  parent=server, kind=SpanKind.CLIENT, attributes={"db.system": "sqlite"})
        trace_id = format(root.get_span_context().trace_id, "032x")
        self.sent[trace_id] = {"kind": "product", "start": start, "duration_ms": duration_ms,
                               "user": user, "spans": 4}
        return trace_id

    def failed_checkout(self, at_min: float, duration_ms: int) -> str:
        start = self.base + int(at_min * 60 * 10**9)
        root = self.span("api-gateway", "POST /checkout", start, duration_ms, kind=SpanKind.SERVER,
                         error="checkout failed", attributes={"user.id": "7"})
        order = self.span("checkout", "process_order", start + MS, duration_ms - 10, parent=root,
                          kind=SpanKind.SERVER, error="payment failed")
        self.span("payment", "charge_payment", start + 2 * MS, duration_ms - 20, parent=order,
                  kind=SpanKind.SERVER, error="card declined")
        trace_id = format(root.get_span_context().trace_id, "032x")
        self.sent[trace_id] = {"kind": "error", "start": start, "duration_ms": duration_ms, "spans": 3}
        return trace_id

    def flush(self) -> None:
        for provider in self.providers.values():
            assert provider.force_flush(30_000)
            provider.shutdown()


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory):
    from tests.conftest import start_server

    server = start_server(tmp_path_factory.mktemp("query") / "data")
    shop = Shop(server.grpc_endpoint)
    slow = [shop.product_page(1 + i, ms, "7") for i, ms in enumerate(SLOW_MS)]
    fast = [shop.product_page(5 + i, ms, "7") for i, ms in enumerate(FAST_MS)]
    user42 = [shop.product_page(5.5, 105, "42"), shop.product_page(20, 115, "42")]
    errors = [shop.failed_checkout(10 + i, ms) for i, ms in enumerate(ERROR_MS)]
    shop.flush()
    total = sum(t["spans"] for t in shop.sent.values())
    deadline = time.monotonic() + 30
    while server.metric("spanhouse_spans_stored_total") < total and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.metric("spanhouse_spans_stored_total") == total
    yield server, shop, {"slow": slow, "fast": fast, "user42": user42, "errors": errors}
    server.stop()


def v1(server, path: str, **params) -> dict:
    response = server.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def cli(server, *args: str) -> list | dict:
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", *args, "--json",
                          "--server", server.ui_url], capture_output=True, text=True,
                         timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_slowest_traces(shop_server):
    server, shop, ids = shop_server
    for data in (v1(server, "slowest", since="1h", limit="3"), cli(server, "slowest", "--limit", "3")):
        assert [t["trace_id"] for t in data] == ids["slow"]
        assert [t["duration_ms"] for t in data] == SLOW_MS
        for t in data:
            assert (t["root_service"], t["root_operation"]) == ("api-gateway", "GET /products")
            assert (t["span_count"], t["error_count"]) == (4, 0)
            assert sorted(t["services"]) == ["api-gateway", "product-service"]
            assert t["start"].endswith("Z")


def test_errors_grouped_by_service(shop_server):
    server, shop, ids = shop_server
    for data in (v1(server, "errors", since="1h"), cli(server, "errors")):
        by_service = {e["service"]: e for e in data}
        assert set(by_service) == {"api-gateway", "checkout", "payment"}
        assert by_service["payment"]["role"] == "origin"
        assert by_service["checkout"]["role"] == "propagates"
        assert by_service["api-gateway"]["role"] == "propagates"
        for service in by_service.values():
            assert (service["error_spans"], service["error_traces"]) == (2, 2)
        requests = len(shop.sent)   # every trace enters through one api-gateway server span
        assert by_service["api-gateway"]["requests"] == requests
        assert by_service["api-gateway"]["error_rate"] == pytest.approx(2 / requests)
        assert by_service["payment"]["error_rate"] == 1.0
        assert by_service["api-gateway"]["estimated_requests"] == requests   # nothing sampled
        assert by_service["payment"]["top_messages"][0] == {
            "message": "card declined", "estimated_count": 2.0, "count": 2}


def test_find_user_request_at_time(shop_server):
    server, shop, ids = shop_server
    late, early = shop.sent[ids["user42"][1]], shop.sent[ids["user42"][0]]
    at_ns = late["start"] - 2 * 60 * 10**9          # 2 min before the later one, 12.5 after the earlier
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_ns / 1e9))
    for data in (v1(server, "find", key="user.id", value="42", at=at, window="15m"),
                 cli(server, "find", "user.id=42", "--at", at, "--window", "15m")):
        assert [t["trace_id"] for t in data] == [ids["user42"][1], ids["user42"][0]]
    narrow = v1(server, "find", key="user.id", value="42", at=at, window="5m")
    assert [t["trace_id"] for t in narrow] == [ids["user42"][1]]


def test_search(shop_server):
    server, shop, ids = shop_server
    errors = v1(server, "search", service="payment", status="error", since="1h", sort="slowest")
    assert [t["trace_id"] for t in errors] == list(reversed(ids["errors"]))  # 320 ms before 300 ms
    assert all(t["error_count"] == 3 for t in errors)
    slow = v1(server, "search", service="api-gateway", min_duration="1s", duration_level="trace",
              since="1h", sort="slowest")
    assert [t["trace_id"] for t in slow] == ids["slow"]
    sqlite = cli(server, "search", "--attr", "db.system=sqlite", "--attr", "user.id=42")
    assert sorted(t["trace_id"] for t in sqlite) == sorted(ids["user42"])


def test_dependencies(shop_server):
    server, shop, ids = shop_server
    data = v1(server, "dependencies", since="1h")
    edges = {(d["parent"], d["child"]): (d["callCount"], d["errorCount"]) for d in data}
    products = len(ids["slow"]) + len(ids["fast"]) + len(ids["user42"])
    assert edges == {("api-gateway", "product-service"): (products, 0),
                     ("api-gateway", "checkout"): (2, 2),
                     ("checkout", "payment"): (2, 2)}


def test_jaeger_api(shop_server):
    server, shop, ids = shop_server
    services = server.get("/api/services").json()
    assert set(services["data"]) == {"api-gateway", "product-service", "checkout", "payment"}
    end_us = time.time_ns() // 1000
    found = server.get("/api/traces", params={
        "service": "api-gateway", "minDuration": "1.5s", "limit": "10",
        "start": str(end_us - 3600 * 10**6), "end": str(end_us)}).json()
    assert found["errors"] is None
    assert sorted(t["traceID"] for t in found["data"]) == sorted(ids["slow"][:2])
    tagged = server.get("/api/traces", params={
        "service": "api-gateway", "tags": json.dumps({"user.id": "42"}), "lookback": "1h"}).json()
    assert sorted(t["traceID"] for t in tagged["data"]) == sorted(ids["user42"])
    one = tagged["data"][0]
    assert len(one["spans"]) == 4 and set(one["processes"]) >= {"p1", "p2"}
    child = next(s for s in one["spans"] if s["operationName"] == "SELECT products")
    assert child["references"][0]["refType"] == "CHILD_OF"
    deps = server.get("/api/dependencies", params={"endTs": str(end_us // 1000),
                                                   "lookback": str(3600 * 1000)}).json()
    calls = {(d["parent"], d["child"]): d["callCount"] for d in deps["data"]}
    assert calls[("checkout", "payment")] == 2
    bad = server.get("/api/traces", params={"service": "x", "minDuration": "1.5parsecs"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["msg"]


def test_hostile_input_is_refused_or_harmless(shop_server):
    server, shop, ids = shop_server
    for params in ({"limit": "10000000"}, {"since": "1h; DROP TABLE otel_traces"},
                   {"min_duration": "-5s"}, {"nonsense": "1"}):
        response = server.get("/api/v1/search", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["message"]
    # A quote is just text (every value is a bound parameter), on both APIs alike: no match,
    # and the store is intact.
    response = server.get("/api/v1/search", params={"service": "x' OR '1'='1", "since": "1h"})
    assert response.status_code == 200 and response.json()["data"] == []
    response = server.get("/api/traces", params={"service": "x' OR '1'='1", "lookback": "1h"})
    assert response.status_code == 200 and response.json()["data"] == []
    assert len(v1(server, "slowest", since="1h", limit="100")) == len(shop.sent)


def test_trace_waterfall_and_server_hint(shop_server, tmp_path):
    server, shop, ids = shop_server
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "trace", ids["errors"][0],
                          "--server", server.ui_url], capture_output=True, text=True, timeout=60,
                         cwd=REPO, env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "process_order" in line or
             "charge_payment" in line or "POST /checkout" in line]
    assert len(lines) == 3
    # Indented by depth, in start order.
    indents = [len(line) - len(line.lstrip()) for line in lines]
    assert indents[0] < indents[1] < indents[2], out.stdout
    assert "payment" in out.stdout and "300" in out.stdout
    dead = subprocess.run([sys.executable, "-m", "spanhouse.cli", "slowest", "--server",
                           "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert dead.returncode == 1
    assert dead.stderr.strip().count("\n") == 0 and "spanhouse serve" in dead.stderr


def test_jaeger_api_v3(shop_server):
    server, shop, ids = shop_server
    assert set(server.get("/api/v3/services").json()["services"]) == {
        "api-gateway", "product-service", "checkout", "payment"}
    body = server.get(f"/api/v3/traces/{ids['errors'][0]}").json()
    spans = [span for rs in body["result"]["resourceSpans"] for ss in rs["scopeSpans"]
             for span in ss["spans"]]
    assert len(spans) == 3 and {s["traceId"] for s in spans} == {ids["errors"][0]}
    assert {s["status"].get("code") for s in spans} == {2}
    found = server.get("/api/v3/traces", params={
        "query.service_name": "payment", "query.start_time_min": "2000-01-01T00:00:00Z",
        "query.start_time_max": "2100-01-01T00:00:00Z"}).json()
    trace_ids = {s["traceId"] for rs in found["result"]["resourceSpans"]
                 for ss in rs["scopeSpans"] for s in ss["spans"]}
    assert trace_ids == set(ids["errors"])
