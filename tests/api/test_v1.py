"""``/api/v1`` and ``/openapi.json`` over a fake ``QueryAPI`` (parameter handling, JSON shapes,
error mapping). The real store end to end is tested elsewhere."""

from __future__ import annotations

import datetime as dt
import re
import threading
import warnings

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from spanhouse.api.openapi import OPENAPI
from spanhouse.api.v1 import PARAMETERS, routes
from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord
from spanhouse.query.model import (MAX_LIMIT, AttributeFilter, Dependency, SearchQuery,
                                   ServiceErrors, TraceSummary)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone.utc)
NOW_NS = 1795518000 * 10**9
HOUR = 3600 * 10**9
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def summary(trace_id: str = TRACE, duration_ms: float = 1234.5, errors: int = 1) -> TraceSummary:
    return TraceSummary(trace_id=trace_id, root_service="frontend", root_operation="GET /checkout",
                        start_ns=NOW_NS - 10 * 60 * 10**9, duration_ns=int(duration_ms * 1e6),
                        span_count=4, error_count=errors,
                        services=("checkout", "frontend", "payment"))


def span(span_id: str, parent: str, service: str, name: str, start_ms: float, duration_ms: float,
         error: bool = False, **kw) -> SpanRecord:
    return SpanRecord(trace_id=TRACE, span_id=span_id, parent_span_id=parent, trace_state="",
                      flags=1, name=name, kind=2 if not parent else 3, service_name=service,
                      start_ns=NOW_NS - HOUR + int(start_ms * 1e6),
                      duration_ns=int(duration_ms * 1e6), status_code=2 if error else 0,
                      status_message="card declined" if error else "", **kw)


def sample_trace() -> list[SpanRecord]:
    """frontend GET /checkout -> checkout POST /pay -> payment charge (error); + a db call."""
    return [
        span("00000000000000a1", "", "frontend", "GET /checkout", 0, 1000,
             attributes={"http.route": "/checkout", "blob": b"\x01\x02"},
             resource_attributes={"service.name": "frontend"},
             events=(EventRecord(NOW_NS - HOUR + 5_000_000, "retry", {"attempt": 2}),),
             links=(LinkRecord("0" * 31 + "1", "00000000000000ff"),),
             adjusted_count=20.0, sampling_policy="errors"),
        span("00000000000000a3", "00000000000000a2", "payment", "charge", 300, 200, error=True),
        span("00000000000000a2", "00000000000000a1", "checkout", "POST /pay", 100, 600),
        span("00000000000000a4", "00000000000000a1", "checkout", "SELECT orders", 800, 100),
    ]


class FakeQuery:
    """A ``QueryAPI`` that records each call (name, args, kwargs, thread) and returns canned
    results; ``fail`` makes every call raise it."""

    def __init__(self, traces: dict[str, list[SpanRecord]] | None = None,
                 summaries: list[TraceSummary] | None = None):
        self.calls: list[tuple[str, tuple, dict]] = []
        self.threads: list[str] = []
        self.fail: Exception | None = None
        self.traces = traces if traces is not None else {TRACE: sample_trace()}
        self.summaries = summaries if summaries is not None else [
            summary(), summary("0af7651916cd43dd8448eb211c80319c", 250.0, 0)]

    def _record(self, name: str, *args, **kwargs) -> None:
        self.calls.append((name, args, kwargs))
        self.threads.append(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail

    def get_trace(self, trace_id):
        self._record("get_trace", trace_id)
        return list(self.traces.get(trace_id, []))

    def services(self):
        self._record("services")
        return ["checkout", "frontend", "payment"]

    def operations(self, service=None, span_kind=None):
        self._record("operations", service, span_kind)
        return []

    def search(self, query):
        self._record("search", query)
        return list(self.summaries)

    def find_traces(self, query):
        self._record("find_traces", query)
        return list(self.traces.values())

    def slowest(self, start_ns, end_ns, service=None, operation=None, attributes=(), limit=20):
        self._record("slowest", start_ns, end_ns, service=service, operation=operation,
                     attributes=attributes, limit=limit)
        return list(self.summaries)

    def errors_by_service(self, start_ns, end_ns):
        self._record("errors_by_service", start_ns, end_ns)
        return [ServiceErrors(service="payment", error_spans=12, error_traces=9, requests=40,
                              error_rate=0.3, estimated_error_spans=12.0, estimated_requests=40.0,
                              estimated_error_rate=0.3, origin_spans=12, role="origin",
                              top_messages=(("card declined", 10),),
                              top_operations=(("charge", 12),)),
                ServiceErrors(service="frontend", error_spans=9, error_traces=9, requests=300,
                              error_rate=0.03, estimated_error_spans=9.0,
                              estimated_requests=300.0, estimated_error_rate=0.03, origin_spans=0,
                              role="propagates"),
                ServiceErrors(service="checkout", error_spans=30, error_traces=30, requests=30,
                              error_rate=1.0, estimated_error_spans=30.0,
                              estimated_requests=30.0, estimated_error_rate=1.0, origin_spans=0,
                              role="propagates")][::-1]

    def find_by_attribute(self, key, value, at_ns, window_ns, limit=20):
        self._record("find_by_attribute", key, value, at_ns, window_ns, limit=limit)
        return list(self.summaries[:1])

    def dependencies(self, start_ns, end_ns):
        self._record("dependencies", start_ns, end_ns)
        return [Dependency("checkout", "payment", 7, 3, 7.0, 3.0),
                Dependency("frontend", "checkout", 10, 1, 200.0, 20.0, 12e6, 95e6),
                Dependency("frontend", "payment", 2, 0, 40.0, 0.0, 5e6, 9e6,
                           kind="context_lost", peer="payment:8080")]


def make_client(fake: FakeQuery) -> TestClient:
    return TestClient(Starlette(routes=routes(fake, clock=lambda: NOW)))


@pytest.fixture
def fake() -> FakeQuery:
    return FakeQuery()


@pytest.fixture
def client(fake) -> TestClient:
    return make_client(fake)


# ------------------------------------------------------------------ the endpoints
def test_slowest_defaults_to_the_last_hour(client, fake):
    response = client.get("/api/v1/slowest")
    assert response.status_code == 200
    body = response.json()
    assert fake.calls == [("slowest", (NOW_NS - HOUR, NOW_NS),
                           {"service": None, "operation": None, "attributes": (), "limit": 20})]
    assert body["query"] == {"start": "2026-11-24T10:00:00.000000Z",
                             "end": "2026-11-24T11:00:00.000000Z", "since": "1h",
                             "service": None, "operation": None, "attr": [], "limit": 20}
    first = body["data"][0]
    assert first == summary().to_json()
    for field in ("trace_id", "root_service", "root_operation", "start", "duration_ms",
                  "span_count", "error_count", "services"):
        assert field in first
    assert first["start"] == "2026-11-24T10:50:00.000000Z" and first["duration_ms"] == 1234.5


def test_slowest_passes_filters_and_runs_on_the_thread_pool(client, fake):
    response = client.get("/api/v1/slowest", params=[
        ("since", "30m"), ("service", "checkout"), ("operation", "POST /pay"),
        ("attr", "http.route=/pay"), ("attr", "user.id"), ("attr", "peer.service~pay.*"),
        ("limit", "5")])
    assert response.status_code == 200, response.text
    name, args, kwargs = fake.calls[0]
    assert args == (NOW_NS - HOUR // 2, NOW_NS)
    assert kwargs == {"service": "checkout", "operation": "POST /pay", "limit": 5, "attributes": (
        AttributeFilter("http.route", "/pay", "eq"), AttributeFilter("user.id", "", "exists"),
        AttributeFilter("peer.service", "pay.*", "regex"))}
    assert response.json()["query"]["attr"] == ["http.route=/pay", "user.id", "peer.service~pay.*"]
    assert fake.threads[0] != threading.main_thread().name
    assert "worker" in fake.threads[0].lower()


def test_start_and_end_take_rfc3339_with_offsets(client, fake):
    response = client.get("/api/v1/slowest", params={"start": "2026-11-24T11:30:00+02:00",
                                                     "end": "2026-11-24T10:00:00.5Z"})
    assert response.status_code == 200, response.text
    assert fake.calls[0][1] == (NOW_NS - 90 * 60 * 10**9, NOW_NS - HOUR + 500_000_000)
    query = response.json()["query"]
    assert query["start"] == "2026-11-24T09:30:00.000000Z" and "since" not in query


def test_relative_times_and_clock_times(client, fake):
    assert client.get("/api/v1/errors?start=2h%20ago&end=10m%20ago").status_code == 200
    assert fake.calls[0][1] == (NOW_NS - 2 * HOUR, NOW_NS - 10 * 60 * 10**9)
    assert client.get("/api/v1/errors?start=09:15&end=now").status_code == 200
    assert fake.calls[1][1] == (NOW_NS - HOUR - 45 * 60 * 10**9, NOW_NS)


def test_errors_by_service(client, fake):
    body = client.get("/api/v1/errors?since=24h").json()
    assert fake.calls == [("errors_by_service", (NOW_NS - 24 * HOUR, NOW_NS), {})]
    assert body["query"]["since"] == "24h"
    # origin services first, then by estimated error spans, whatever order the reader gives
    assert [row["service"] for row in body["data"]] == ["payment", "checkout", "frontend"]
    assert body["data"][0]["role"] == "origin"
    assert body["data"][0]["top_messages"] == [
        {"message": "card declined", "estimated_count": 10.0, "count": 10}]
    assert body["data"][0]["estimated_error_rate"] == 0.3
    assert body["data"][0]["top_operations"] == [
        {"operation": "charge", "label": "charge", "route": "", "peer": "",
         "estimated_count": 12.0, "count": 12}]


def test_find_defaults_to_now_and_15_minutes(client, fake):
    body = client.get("/api/v1/find?key=user.id&value=u-42").json()
    assert fake.calls == [("find_by_attribute", ("user.id", "u-42", NOW_NS, 15 * 60 * 10**9),
                           {"limit": 20})]
    assert body["query"] == {"key": "user.id", "value": "u-42", "at": "2026-11-24T11:00:00.000000Z",
                             "window": "15m", "start": "2026-11-24T10:45:00.000000Z",
                             "end": "2026-11-24T11:15:00.000000Z", "limit": 20}
    assert body["data"] == [summary().to_json()]


def test_find_at_a_time_with_a_window(client, fake):
    response = client.get("/api/v1/find", params={"key": "order.id", "value": "o 17",
                                                  "at": "10:31", "window": "1h30m", "limit": "3"})
    assert response.status_code == 200, response.text
    assert fake.calls[0] == ("find_by_attribute",
                             ("order.id", "o 17", NOW_NS - 29 * 60 * 10**9, 90 * 60 * 10**9),
                             {"limit": 3})


def test_search_maps_every_parameter(client, fake):
    response = client.get("/api/v1/search", params=[
        ("service", "checkout"), ("operation", "POST /pay"), ("attr", "http.status_code=500"),
        ("attr", "error.type"), ("status", "error"), ("min_duration", "250ms"),
        ("max_duration", "2s"), ("start", "2026-11-24T09:00:00Z"), ("end", "2026-11-24T10:00:00Z"),
        ("limit", "50"), ("sort", "slowest")])
    assert response.status_code == 200, response.text
    assert fake.calls == [("search", (SearchQuery(
        start_ns=NOW_NS - 2 * HOUR, end_ns=NOW_NS - HOUR, service="checkout",
        operation="POST /pay",
        attributes=(AttributeFilter("http.status_code", "500"), AttributeFilter("error.type", "", "exists")),
        status="error", trace_min_duration_ns=250_000_000, trace_max_duration_ns=2 * 10**9,
        limit=50, sort="slowest"),), {})]
    query = response.json()["query"]
    assert query["duration_level"] == "trace" and query["sort"] == "slowest"
    assert query["min_duration"] == "250ms" and query["status"] == "error"


def test_search_span_level_durations_and_defaults(client, fake):
    assert client.get("/api/v1/search?min_duration=1s&duration_level=span").status_code == 200
    query = fake.calls[0][1][0]
    assert query.span_min_duration_ns == 10**9 and query.trace_min_duration_ns is None
    assert (query.start_ns, query.end_ns, query.limit, query.sort) == (NOW_NS - HOUR, NOW_NS, 20, "recent")


def test_trace_spans_ordered_with_every_field(client, fake):
    response = client.get(f"/api/v1/traces/{TRACE.upper()}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert fake.calls == [("get_trace", (TRACE,), {})]
    assert body["query"] == {"trace_id": TRACE}
    data = body["data"]
    assert (data["trace_id"], data["span_count"], data["error_count"]) == (TRACE, 4, 1)
    assert data["duration_ms"] == 1000.0 and data["services"] == ["checkout", "frontend", "payment"]
    spans = data["spans"]
    assert [s["name"] for s in spans] == ["GET /checkout", "POST /pay", "charge", "SELECT orders"]
    root = spans[0]
    assert root["parent_span_id"] == "" and root["kind"] == "server"
    assert root["start"] == "2026-11-24T10:00:00.000000Z" and root["start_ns"] == NOW_NS - HOUR
    assert root["duration_ms"] == 1000.0 and root["duration_ns"] == 10**9
    assert root["attributes"] == {"http.route": "/checkout", "blob": "AQI="}
    assert root["resource_attributes"] == {"service.name": "frontend"}
    assert root["events"] == [{"time": "2026-11-24T10:00:00.005000Z", "time_ns": NOW_NS - HOUR + 5_000_000,
                               "name": "retry", "attributes": {"attempt": 2}}]
    assert root["links"][0]["span_id"] == "00000000000000ff"
    assert (root["adjusted_count"], root["sampling_policy"]) == (20.0, "errors")
    charge = spans[2]
    assert charge["status"] == {"code": "error", "message": "card declined"}
    assert charge["service"] == "payment" and charge["kind"] == "client"


def test_trace_short_ids_are_padded_and_unknown_is_404(client, fake):
    response = client.get("/api/v1/traces/a1b2")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "message": f"trace {'0' * 28}a1b2 not found"}}
    assert fake.calls == [("get_trace", ("0" * 28 + "a1b2",), {})]


@pytest.mark.parametrize("bad", ["xyz", "0" * 33, "1'OR'1", "%27%3B%20DROP%20TABLE%20x"])
def test_trace_bad_ids_are_400(client, fake, bad):
    response = client.get(f"/api/v1/traces/{bad}")
    assert response.status_code == 400
    assert "hexadecimal" in response.json()["error"]["message"]
    assert fake.calls == []


def test_dependencies(client, fake):
    body = client.get("/api/v1/dependencies?start=2026-11-24T00:00:00Z").json()
    assert fake.calls == [("dependencies", (NOW_NS - 11 * HOUR, NOW_NS), {})]
    # by estimated calls: 200, 40, 7
    assert [(e["parent"], e["child"], e["kind"]) for e in body["data"]] == [
        ("frontend", "checkout", "call"), ("frontend", "payment", "context_lost"),
        ("checkout", "payment", "call")]
    assert body["data"][0] == {
        "parent": "frontend", "child": "checkout", "kind": "call", "calls": 200.0,
        "errors": 20.0, "error_rate": 20.0 / 200.0, "p50_ms": 12.0, "p95_ms": 95.0,
        "stored_calls": 10, "stored_errors": 1, "peer": None, "callCount": 10, "errorCount": 1}
    assert body["data"][1]["peer"] == "payment:8080"


# ------------------------------------------------------------------ errors
def test_unknown_parameters_are_named(client, fake):
    response = client.get("/api/v1/slowest?lookback=1h&servce=x")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "'lookback'" in message and "'servce'" in message and "accepted: since" in message
    assert client.get("/api/v1/traces/" + TRACE + "?x=1").status_code == 400
    assert fake.calls == []


@pytest.mark.parametrize("path,params,needle", [
    ("/api/v1/slowest", {"limit": "0"}, "limit"),
    ("/api/v1/slowest", {"limit": str(MAX_LIMIT + 1)}, "limit"),
    ("/api/v1/slowest", {"limit": "99999999999999999999"}, "limit"),
    ("/api/v1/slowest", {"limit": "-1"}, "limit"),
    ("/api/v1/slowest", {"limit": "10; DROP TABLE otel_traces"}, "limit"),
    ("/api/v1/slowest", {"limit": "1e3"}, "limit"),
    ("/api/v1/slowest", {"since": "1h'"}, "since"),
    ("/api/v1/slowest", {"since": "forever"}, "Go duration"),
    ("/api/v1/slowest", {"since": "-1h"}, "since"),
    ("/api/v1/slowest", {"since": "1" * 200 + "h"}, "since"),
    ("/api/v1/slowest", {"since": "99999999999h"}, "since"),
    ("/api/v1/slowest", {"start": "yesterday"}, "RFC 3339"),
    ("/api/v1/slowest", {"start": "2026-13-45T00:00:00Z"}, "start"),
    ("/api/v1/slowest", {"start": "25:00"}, "start"),
    ("/api/v1/slowest", {"start": "9999-01-01T00:00:00Z"}, "start"),
    ("/api/v1/slowest", {"start": "2026-11-24T12:00:00Z", "end": "2026-11-24T11:00:00Z"}, "after"),
    ("/api/v1/slowest", {"since": "1h", "start": "10:00"}, "either"),
    ("/api/v1/slowest", {"operation": "GET\n/x"}, "control"),
    ("/api/v1/slowest", {"service": "s" * 2000}, "longer"),
    ("/api/v1/slowest", {"attr": "k\tey=v"}, "control"),
    ("/api/v1/slowest", {"attr": "=v"}, "empty"),
    ("/api/v1/slowest", {"attr": ""}, "empty"),
    ("/api/v1/search", {"attr": "k=" + "v" * 5000}, "longer"),
    ("/api/v1/search", {"attr": "http.url~(unclosed"}, "regular expression"),
    ("/api/v1/search", {"attr": "http.url~(?=x)"}, "RE2"),
    ("/api/v1/search", {"attr": "http.url~"}, "empty"),
    ("/api/v1/search", {"status": "failed"}, "status"),
    ("/api/v1/search", {"sort": "random()"}, "sort"),
    ("/api/v1/search", {"duration_level": "both"}, "duration_level"),
    ("/api/v1/search", {"min_duration": "2s", "max_duration": "1s"}, "greater"),
    ("/api/v1/search", {"max_duration": "1 second"}, "max_duration"),
    ("/api/v1/find", {"key": "user.id"}, "key and value"),
    ("/api/v1/find", {"value": "42"}, "key and value"),
    ("/api/v1/find", {"key": "user\nid", "value": "42"}, "control"),
    ("/api/v1/find", {"key": "user.id", "value": "4\x002"}, "NUL"),
    ("/api/v1/find", {"key": "user.id", "value": "42", "at": "noon"}, "at"),
    ("/api/v1/find", {"key": "user.id", "value": "42", "window": "15"}, "window"),
    ("/api/v1/errors", {"end": "2026-11-24T10:00:00Zjunk"}, "end"),
    ("/api/v1/dependencies", {"since": "0x10"}, "since"),
])
def test_hostile_and_malformed_values_are_400(client, fake, path, params, needle):
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == 400 and needle in error["message"]
    assert fake.calls == []


def test_repeated_single_parameters_are_400(client, fake):
    response = client.get("/api/v1/slowest?limit=1&limit=2")
    assert response.status_code == 400 and "limit: given 2 times" in response.json()["error"]["message"]


def test_free_text_with_spaces_braces_and_slashes_is_fine(client, fake):
    assert client.get("/api/v1/slowest", params={"operation": "GET /api/items/{id} v2"}).status_code == 200


def test_quotes_and_sql_in_free_text_reach_the_query_verbatim(client, fake):
    """Free text is bound, never spliced into SQL (``spanhouse.api.freetext``): quotes,
    semicolons and SQL keywords are data, as on Jaeger's API."""
    response = client.get("/api/v1/slowest", params=[("service", "x' OR '1'='1"),
                                                     ("attr", "k'ey=v")])
    assert response.status_code == 200, response.text
    assert fake.calls[-1][2]["service"] == "x' OR '1'='1"
    assert fake.calls[-1][2]["attributes"] == (AttributeFilter("k'ey", "v"),)
    response = client.get("/api/v1/search", params={"attr": 'user.id=1" OR 1=1 --'})
    assert response.status_code == 200, response.text
    assert fake.calls[-1][1][0].attributes == (AttributeFilter("user.id", '1" OR 1=1 --'),)
    response = client.get("/api/v1/find", params={"key": "user id", "value": "42'; DROP TABLE x--"})
    assert response.status_code == 200, response.text
    assert fake.calls[-1][1][:2] == ("user id", "42'; DROP TABLE x--")


def test_query_errors_map_to_status_codes(client, fake):
    fake.fail = InvalidInput("regex too complex")
    response = client.get("/api/v1/search")
    assert response.status_code == 400
    assert response.json() == {"error": {"status": 400, "message": "regex too complex"}}
    fake.fail = StoreError("ClickHouse is unreachable")
    response = client.get("/api/v1/slowest")
    assert response.status_code == 503
    assert response.json() == {"error": {"status": 503, "message": "ClickHouse is unreachable"}}
    fake.fail = RuntimeError("boom")
    response = client.get(f"/api/v1/traces/{TRACE}")
    assert response.status_code == 500 and "boom" not in response.text
    assert response.json()["error"]["status"] == 500


def test_unknown_endpoint_is_a_json_404(client):
    response = client.get("/api/v1/slowest-traces")
    assert response.status_code == 404 and "/openapi.json" in response.json()["error"]["message"]


# ------------------------------------------------------------------ the OpenAPI document
def _v1_routes() -> list[Route]:
    return [r for r in routes(FakeQuery()) if isinstance(r, Route) and r.path.startswith("/api/v1/")
            and "{rest:path}" not in r.path]


def test_openapi_describes_every_v1_route_with_its_parameters():
    paths = OPENAPI["paths"]
    v1 = _v1_routes()
    from spanhouse.api.openapi import _ANALYSES  # documented here, tested below

    assert {r.path for r in v1} == set(PARAMETERS) == {
        p for p in paths if p.startswith("/api/v1/") and p not in _ANALYSES}
    for route in v1:
        operation = paths[route.path]["get"]
        query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        path_params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert query == set(PARAMETERS[route.path]), route.path
        assert path_params == set(re.findall(r"{(\w+)}", route.path)), route.path
        assert {"200", "400"} <= set(operation["responses"]), route.path
        assert operation["operationId"]


def test_openapi_document_is_well_formed_and_served(client):
    doc = client.get("/openapi.json").json()
    assert doc == OPENAPI | {}  # served as is
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"]
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    assert set(schemas["TraceSummary"]["required"]) >= {
        "trace_id", "root_service", "root_operation", "start", "duration_ms", "span_count",
        "error_count", "services"}
    assert set(summary().to_json()) == set(schemas["TraceSummary"]["properties"])
    # issue 14's fields are documented by /tmp/exp/U1_other_files.patch (spanhouse/api/openapi.py
    # is not helper U1's to edit); until it is applied they are the only undocumented ones
    pending = {"ServiceErrors": {"estimated_error_requests", "series", "series_step_ms"},
               "Dependency": {"kind", "calls", "errors", "error_rate", "p50_ms", "p95_ms",
                              "stored_calls", "stored_errors", "peer"}}
    for name, data in (("ServiceErrors", FakeQuery().errors_by_service(0, 1)[0].to_json()),
                       ("Dependency", Dependency("a", "b", 1, 0).to_json())):
        documented = set(schemas[name]["properties"])
        assert documented <= set(data) and set(data) - documented <= pending[name], name


def test_span_json_matches_the_schema(client):
    data = client.get(f"/api/v1/traces/{TRACE}").json()["data"]
    schemas = OPENAPI["components"]["schemas"]
    assert set(data) == set(schemas["Trace"]["properties"])
    assert set(data["spans"][0]) == set(schemas["Span"]["properties"])


def test_every_mounted_api_v1_route_is_in_the_openapi_document():
    """The app as served (query + analysis routes): each /api/v1 path is documented."""
    from starlette.routing import Route

    from spanhouse.api.app import create_app
    from spanhouse.api.openapi import document
    from spanhouse.telemetry import Telemetry

    class _Store:  # routes are only listed, never called
        pass

    app = create_app(object(), Telemetry(), lambda: True, _Store())
    paths = {r.path for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/v1/")
             and "{rest" not in r.path}
    documented = document()["paths"]
    assert paths and paths <= set(documented), paths - set(documented)

    from spanhouse.api import v1_bottleneck, v1_compare, v1_doctor
    accepted = {**v1_bottleneck.PARAMETERS, v1_doctor.PATH: v1_doctor.PARAMETERS,
                v1_compare.PATH: v1_compare.PARAMETERS}
    for path, names in accepted.items():
        parameters = documented[path]["get"]["parameters"]
        assert {p["name"] for p in parameters if p["in"] == "query"} == set(names), path
