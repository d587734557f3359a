"""Jaeger's classic HTTP API (``spanhouse.api.jaeger``) over a fake ``QueryAPI``.

Cases follow jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/
http_handler_test.go`` (TestGetTrace*, TestSearch*, TestGetServices*, TestGetOperations*,
handler_deps_test.go) with exact response bodies; the store itself is tested elsewhere.
"""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from spanhouse.api import jaeger
from spanhouse.api.jaeger_query import DEFAULT_TRACE_QUERY_LOOKBACK_NS, QueryParser
from spanhouse.errors import InvalidInput, NotFound, StoreError
from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord
from spanhouse.query.model import AttributeFilter, Dependency, Operation, SearchQuery, TraceSummary
from tests.api.fake_query import FakeQuery

NOW = 1_700_000_000_000_000_000
TRACE = "00000000000000000000000000123456"
T0 = 1_485_467_191_639_875_139


def record(span_id: str, name: str, service: str = "service", trace_id: str = TRACE, **kw) -> SpanRecord:
    base = dict(trace_id=trace_id, span_id=span_id, parent_span_id="", trace_state="", flags=1,
                name=name, kind=0, service_name=service, start_ns=T0, duration_ns=5_000,
                status_code=0, status_message="", resource_attributes={"service.name": service})
    base.update(kw)
    return SpanRecord(**base)


def client(fake: FakeQuery) -> TestClient:
    app = Starlette(routes=jaeger.routes(fake, QueryParser(now_ns=lambda: NOW)))
    return TestClient(app)


def last_query(fake: FakeQuery) -> SearchQuery:
    return [c for c in fake.calls if c[0] == "find_traces"][-1][1]


def error_doc(code: int, msg: str) -> dict:
    return {"data": None, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": code, "msg": msg}]}


# a two-span trace and its exact Jaeger JSON ---------------------------------------------------
SPANS = [
    record("0000000000000001", "GET /users", kind=2, attributes={
        "http.status_code": 200, "sampler.rate": 0.25, "retry": False, "blob": b"\x01\x02"},
        resource_attributes={"service.name": "frontend", "host.name": "web-1"},
        service="frontend", scope_name="io.opentelemetry.http",
        events=(EventRecord(T0 + 1_000, "cache miss", {"key": "u:1"}),)),
    record("0000000000000002", "SELECT users", service="db", kind=3,
           parent_span_id="0000000000000001", start_ns=T0 + 1_000, duration_ns=2_999,
           status_code=2, status_message="timeout",
           links=(LinkRecord("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),)),
]

TRACE_JSON = {
    "traceID": "0000000000123456",
    "spans": [
        {
            "traceID": "0000000000123456", "spanID": "0000000000000001",
            "operationName": "GET /users", "references": [],
            "startTime": 1485467191639875, "duration": 5, "flags": 1,
            "tags": [
                {"key": "otel.scope.name", "type": "string", "value": "io.opentelemetry.http"},
                {"key": "http.status_code", "type": "int64", "value": 200},
                {"key": "sampler.rate", "type": "float64", "value": 0.25},
                {"key": "retry", "type": "bool", "value": False},
                {"key": "blob", "type": "binary", "value": "AQI="},
                {"key": "span.kind", "type": "string", "value": "server"},
            ],
            "logs": [{"timestamp": 1485467191639876, "fields": [
                {"key": "event", "type": "string", "value": "cache miss"},
                {"key": "key", "type": "string", "value": "u:1"}]}],
            "processID": "p1", "warnings": None,
        },
        {
            "traceID": "0000000000123456", "spanID": "0000000000000002",
            "operationName": "SELECT users",
            "references": [
                {"refType": "CHILD_OF", "traceID": "0000000000123456", "spanID": "0000000000000001"},
                {"refType": "FOLLOWS_FROM", "traceID": "4bf92f3577b34da6a3ce929d0e0e4736",
                 "spanID": "00f067aa0ba902b7"}],
            "startTime": 1485467191639876, "duration": 2, "flags": 1,
            "tags": [
                {"key": "span.kind", "type": "string", "value": "client"},
                {"key": "otel.status_code", "type": "string", "value": "ERROR"},
                {"key": "error", "type": "bool", "value": True},
                {"key": "otel.status_description", "type": "string", "value": "timeout"},
            ],
            "logs": [], "processID": "p2", "warnings": None,
        },
    ],
    "processes": {
        "p1": {"serviceName": "frontend", "tags": [{"key": "host.name", "type": "string", "value": "web-1"}]},
        "p2": {"serviceName": "db", "tags": []},
    },
    "warnings": None,
}


# GET /api/traces/{traceID} -------------------------------------------------------------------
def test_get_trace_exact_document():
    fake = FakeQuery(traces={TRACE: SPANS})
    resp = client(fake).get("/api/traces/123456")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"data": [TRACE_JSON], "total": 0, "limit": 0, "offset": 0, "errors": None}
    assert fake.calls == [("get_trace", TRACE)]


def test_get_trace_id_in_mixed_case_and_time_window():
    fake = FakeQuery(traces={"0" * 23 + "123456abc": [record("0000000000000001", "x", trace_id="0" * 23 + "123456abc")]})
    resp = client(fake).get("/api/traces/123456aBC?start=1&end=2&raw=true")
    assert resp.status_code == 200 and resp.json()["errors"] is None
    assert fake.calls == [("get_trace", "0" * 23 + "123456abc")]


def test_get_trace_not_found():
    resp = client(FakeQuery()).get("/api/traces/123456")
    assert resp.status_code == 404
    assert resp.json() == error_doc(404, "trace not found")


@pytest.mark.parametrize("url,msg", [
    ("/api/traces/chumbawumba", 'strconv.ParseUint: parsing "chumbawumba": invalid syntax'),
    ("/api/traces/123456?start=a", """unable to parse param 'start': strconv.ParseInt: parsing "a": invalid syntax"""),
    ("/api/traces/123456?end=b", """unable to parse param 'end': strconv.ParseInt: parsing "b": invalid syntax"""),
    ("/api/traces/123456?raw=foobar", """unable to parse param 'raw': strconv.ParseBool: parsing "foobar": invalid syntax"""),
])
def test_get_trace_bad_parameters(url, msg):
    fake = FakeQuery(traces={TRACE: SPANS})
    resp = client(fake).get(url)
    assert resp.status_code == 400
    assert resp.json() == error_doc(400, msg)
    assert fake.calls == []


@pytest.mark.parametrize("exc,status", [(StoreError("clickhouse is down"), 503),
                                        (InvalidInput("bad trace id"), 400),
                                        (NotFound("trace not found"), 404)])
def test_get_trace_store_errors(exc, status):
    resp = client(FakeQuery(error=exc)).get("/api/traces/123456")
    assert resp.status_code == status
    assert resp.json() == error_doc(status, str(exc))


def test_unexpected_exception_is_a_500_without_details():
    resp = client(FakeQuery(error=RuntimeError("secret dsn=clickhouse://u:p@h"))).get("/api/services")
    assert resp.status_code == 500
    assert resp.json() == error_doc(500, "internal error")


# GET /api/traces (search) -------------------------------------------------------------------
def test_search_returns_full_traces_in_the_envelope():
    fake = FakeQuery(traces={TRACE: SPANS})
    resp = client(fake).get("/api/traces?service=frontend&start=0&end=0&operation=operation"
                            "&limit=200&minDuration=20ms")
    assert resp.status_code == 200
    assert resp.json() == {"data": [TRACE_JSON], "total": 0, "limit": 0, "offset": 0, "errors": None}
    assert last_query(fake) == SearchQuery(start_ns=0, end_ns=0, service="frontend",
                                           operation="operation", span_min_duration_ns=20_000_000,
                                           limit=200)


def test_search_parameters_reach_the_query():
    fake = FakeQuery()
    resp = client(fake).get(
        "/api/traces", params=[("service", "checkout"), ("operation", "POST /pay"),
                               ("start", "1700000000000000"), ("end", "1700000360000000"),
                               ("minDuration", "1.2s"), ("maxDuration", "5s"), ("limit", "20"),
                               ("tags", '{"http.status_code":"500","error":"true"}'),
                               ("tag", "region:eu-west-1"), ("lookback", "custom"), ("foo", "bar")])
    assert resp.status_code == 200
    assert resp.json() == {"data": [], "total": 0, "limit": 0, "offset": 0, "errors": None}
    assert last_query(fake) == SearchQuery(
        start_ns=1_700_000_000_000_000_000, end_ns=1_700_000_360_000_000_000,
        service="checkout", operation="POST /pay",
        attributes=(AttributeFilter("region", "eu-west-1"), AttributeFilter("http.status_code", "500")),
        status="error", span_min_duration_ns=1_200_000_000, span_max_duration_ns=5_000_000_000,
        limit=20, sort="recent")


def test_search_defaults():
    fake = FakeQuery()
    client(fake).get("/api/traces?service=s")
    assert last_query(fake) == SearchQuery(start_ns=NOW - DEFAULT_TRACE_QUERY_LOOKBACK_NS,
                                           end_ns=NOW, service="s", limit=100)


def test_search_by_trace_ids():
    other = "0" * 31 + "2"
    fake = FakeQuery(traces={"0" * 31 + "1": [record("0000000000000001", "a", trace_id="0" * 31 + "1")],
                             other: [record("0000000000000001", "b", trace_id=other)]})
    resp = client(fake).get("/api/traces?traceID=1&traceID=2&traceID=3&start=1&end=2")
    assert resp.status_code == 200
    doc = resp.json()
    assert [t["traceID"] for t in doc["data"]] == ["0000000000000001", "0000000000000002"]
    assert doc["errors"] == [{"msg": "trace not found", "traceID": "0000000000000003"}]
    assert [c for c in fake.calls if c[0] == "find_traces"] == []


def test_search_by_trace_id_not_found_is_200_with_errors():
    resp = client(FakeQuery()).get("/api/traces?traceID=1")
    assert resp.status_code == 200
    assert resp.json() == {"data": [], "total": 0, "limit": 0, "offset": 0,
                           "errors": [{"msg": "trace not found", "traceID": "0000000000000001"}]}


@pytest.mark.parametrize("url,msg", [
    ("/api/traces?start=0&end=0&operation=operation&limit=200&minDuration=20ms",
     "parameter 'service' is required"),
    ("/api/traces?service=service&start=0&end=0&operation=operation&maxDuration=10ms&limit=200&minDuration=20ms",
     "'maxDuration' should be greater than 'minDuration'"),
    ("/api/traces?service=s&minDuration=1.2", 'unable to parse param \'minDuration\': time: missing unit in duration "1.2"'),
    ("/api/traces?service=s&limit=100000", "unable to parse param 'limit': 100000 is out of range [1, 10000]"),
    ("/api/traces?service=s&limit=20%20OR%201%3D1", 'strconv.ParseInt: parsing "20 OR 1=1": invalid syntax'),
    ("/api/traces?service=s&start=0%3B%20DROP%20TABLE%20otel_traces",
     """unable to parse param 'start': strconv.ParseInt: parsing "0; DROP TABLE otel_traces": invalid syntax"""),
    ("/api/traces?service=s&start=10&end=5", "start time must be before end time"),
    ("/api/traces?service=s&tags=%7B%22x%22%3A123%7D",
     "malformed 'tags' parameter, cannot unmarshal JSON: json: cannot unmarshal number into Go value of type string"),
    ("/api/traces?service=s&tag=k", "malformed 'tag' parameter, expecting key:value, received: k"),
    ("/api/traces?traceID=abc'--", """cannot parse traceID param: strconv.ParseUint: parsing "abc'--": invalid syntax"""),
])
def test_search_failures(url, msg):
    fake = FakeQuery()
    resp = client(fake).get(url)
    assert resp.status_code == 400
    assert resp.json() == error_doc(400, msg)
    assert fake.calls == []


def test_search_store_failure_is_503():
    resp = client(FakeQuery(error=StoreError("timeout"))).get("/api/traces?service=s")
    assert resp.status_code == 503
    assert resp.json() == error_doc(503, "timeout")


def test_search_store_rejection_is_400():
    resp = client(FakeQuery(error=InvalidInput("window too wide"))).get("/api/traces?service=s")
    assert resp.status_code == 400
    assert resp.json() == error_doc(400, "window too wide")


def test_pretty_print():
    resp = client(FakeQuery(services=["a"])).get("/api/services?prettyPrint=true")
    assert resp.text == json.dumps({"data": ["a"], "total": 1, "limit": 0, "offset": 0,
                                    "errors": None}, indent=4)
    plain = client(FakeQuery(services=["a"])).get("/api/services?prettyPrint=false")
    assert "\n" not in plain.text


# services and operations -------------------------------------------------------------------
def test_get_services():
    resp = client(FakeQuery(services=["bling", "trifle"])).get("/api/services")
    assert resp.json() == {"data": ["bling", "trifle"], "total": 2, "limit": 0, "offset": 0, "errors": None}
    empty = client(FakeQuery()).get("/api/services")
    assert empty.json()["data"] == [] and empty.json()["total"] == 0


def test_get_services_storage_failure():
    resp = client(FakeQuery(error=StoreError("storage error"))).get("/api/services")
    assert resp.status_code == 503 and resp.json() == error_doc(503, "storage error")


def test_get_operations():
    fake = FakeQuery(operations=[Operation("", ""), Operation("get", "server")])
    resp = client(fake).get("/api/operations?service=abc%2Ftrifle&spanKind=server")
    assert resp.json() == {"data": [{"name": "", "spanKind": ""}, {"name": "get", "spanKind": "server"}],
                           "total": 2, "limit": 0, "offset": 0, "errors": None}
    assert fake.calls == [("operations", "abc/trifle", "server")]
    client(fake).get("/api/operations?service=x")
    assert fake.calls[-1] == ("operations", "x", None)


def test_get_operations_errors():
    fake = FakeQuery()
    resp = client(fake).get("/api/operations")
    assert resp.status_code == 400 and resp.json() == error_doc(400, "parameter 'service' is required")
    resp = client(fake).get("/api/operations?service=x&spanKind=bogus")
    assert resp.status_code == 400
    assert resp.json() == error_doc(400, "unable to parse param 'spanKind': unsupported span kind: 'bogus'")
    assert fake.calls == []
    resp = client(FakeQuery(error=StoreError("storage error"))).get("/api/operations?service=trifle")
    assert resp.status_code == 503


def test_get_operations_legacy():
    fake = FakeQuery(operations=[Operation("", ""), Operation("get", "server"), Operation("get", "client")])
    resp = client(fake).get("/api/services/abc%2Ftrifle/operations")
    assert resp.status_code == 200
    assert resp.json() == {"data": ["", "get"], "total": 2, "limit": 0, "offset": 0, "errors": None}
    assert fake.calls == [("operations", "abc/trifle", None)]
    resp = client(FakeQuery(error=StoreError("storage error"))).get("/api/services/trifle/operations")
    assert resp.status_code == 503


# dependencies ------------------------------------------------------------------------------
DEPS = [Dependency("frontend", "checkout", 10, 1), Dependency("checkout", "db", 7, 0),
        Dependency("frontend", "checkout", 5, 0), Dependency("batch", "db", 2, 2)]
# stored 3 calls standing for 20.4 + 40 (estimates); a lost context is not a Jaeger link
SAMPLED_DEPS = [Dependency("frontend", "checkout", 1, 0, 20.4, 0.0),
                Dependency("frontend", "checkout", 2, 1, 40.0, 20.0),
                Dependency("frontend", "payment", 4, 0, 80.0, 0.0, kind="context_lost",
                           peer="payment")]


def test_dependencies():
    fake = FakeQuery(dependencies=DEPS)
    resp = client(fake).get("/api/dependencies?endTs=1476374248550&lookback=86400000")
    assert resp.status_code == 200
    assert resp.json() == {"data": [{"parent": "frontend", "child": "checkout", "callCount": 15},
                                    {"parent": "checkout", "child": "db", "callCount": 7},
                                    {"parent": "batch", "child": "db", "callCount": 2}],
                           "total": 0, "limit": 0, "offset": 0, "errors": None}
    end = 1_476_374_248_550 * 1_000_000
    assert fake.calls == [("dependencies", end - 86_400_000 * 1_000_000, end)]


def test_dependencies_call_count_is_the_estimate():
    resp = client(FakeQuery(dependencies=SAMPLED_DEPS)).get("/api/dependencies")
    assert resp.json()["data"] == [{"parent": "frontend", "child": "checkout",
                                    "callCount": round(20.4 + 40.0)}]


def test_dependencies_filtered_by_service_and_defaults():
    fake = FakeQuery(dependencies=DEPS)
    resp = client(fake).get("/api/dependencies?service=db")
    assert [(d["parent"], d["child"]) for d in resp.json()["data"]] == [("checkout", "db"), ("batch", "db")]
    assert fake.calls == [("dependencies", NOW - 24 * 3600 * 10**9, NOW)]


@pytest.mark.parametrize("query,msg", [
    ("endTs=foo", """unable to parse param 'endTs': strconv.ParseInt: parsing "foo": invalid syntax"""),
    ("lookback=foo", """unable to parse param 'lookback': strconv.ParseInt: parsing "foo": invalid syntax"""),
    ("lookback=1%27%20OR%201%3D1", """unable to parse param 'lookback': strconv.ParseInt: parsing "1' OR 1=1": invalid syntax"""),
])
def test_dependencies_bad_parameters(query, msg):
    fake = FakeQuery(dependencies=DEPS)
    resp = client(fake).get("/api/dependencies?" + query)
    assert resp.status_code == 400 and resp.json() == error_doc(400, msg)
    assert fake.calls == []


def test_dependencies_store_error():
    resp = client(FakeQuery(error=StoreError("down"))).get("/api/dependencies")
    assert resp.status_code == 503 and resp.json() == error_doc(503, "down")


def test_summaries_are_not_used_by_the_classic_api():
    fake = FakeQuery(summaries=[TraceSummary(TRACE, "s", "op", 0, 1, 1, 0, ("s",))])
    client(fake).get("/api/traces?service=s")
    assert [c[0] for c in fake.calls] == ["find_traces"]
