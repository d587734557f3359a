"""Jaeger's api_v3 over HTTP (``spanhouse.api.jaeger_v3``) and the OTLP/JSON encoder
(``spanhouse.api.otlp_json_out``), over a fake ``QueryAPI``.

Cases follow jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/
http_gateway_test.go`` and its snapshots (``GetTrace.json``, ``FindTraces.json``,
``GetOperations.json``, ``FindTraceSummaries.json``).
"""

from __future__ import annotations

import math

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from spanhouse.api import jaeger_v3
from spanhouse.api.otlp_json_out import any_value, traces_data
from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord
from spanhouse.query.model import MAX_LIMIT, AttributeFilter, Operation, SearchQuery, TraceSummary
from tests.api.fake_query import FakeQuery

TRACE = "00000000000000000000000000000001"
GOOD_MIN, GOOD_MAX = "2024-01-02T03:04:05Z", "2024-01-02T04:04:05.5+01:00"


def record(span_id="0000000000000002", name="foobar", **kw) -> SpanRecord:
    base = dict(trace_id=TRACE, span_id=span_id, parent_span_id="", trace_state="", flags=0,
                name=name, kind=2, service_name="", start_ns=0, duration_ns=0, status_code=2,
                status_message="", resource_attributes={})
    base.update(kw)
    return SpanRecord(**base)


def client(fake) -> TestClient:
    return TestClient(Starlette(routes=jaeger_v3.routes(fake)))


def err(code: int, message: str) -> dict:
    return {"error": {"httpCode": code, "message": message}}


# snapshots ---------------------------------------------------------------------------------
SNAPSHOT = {"result": {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [
    {"kind": 2, "name": "foobar", "spanId": "0000000000000002", "status": {"code": 2},
     "traceId": "00000000000000000000000000000001"}]}]}]}}


def test_get_trace_snapshot():
    fake = FakeQuery(traces={TRACE: [record()]})
    resp = client(fake).get("/api/v3/traces/1")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == SNAPSHOT
    assert fake.calls == [("get_trace", TRACE)]


def test_find_traces_snapshot_and_query():
    fake = FakeQuery(traces={TRACE: [record()]})
    resp = client(fake).get("/api/v3/traces", params={
        "query.service_name": "foo", "query.operation_name": "bar",
        "query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX,
        "query.duration_min": "1s", "query.duration_max": "2s", "query.num_traces": "10"})
    assert resp.status_code == 200
    assert resp.json() == SNAPSHOT
    assert fake.calls == [("find_traces", SearchQuery(
        start_ns=1_704_164_645_000_000_000, end_ns=1_704_164_645_500_000_000, service="foo",
        operation="bar", span_min_duration_ns=10**9, span_max_duration_ns=2 * 10**9, limit=10))]


def test_find_traces_canonical_names_and_attributes():
    fake = FakeQuery()
    client(fake).get("/api/v3/traces", params={
        "query.serviceName": "svc", "query.service_name": "ignored",
        "query.startTimeMin": GOOD_MIN, "query.startTimeMax": GOOD_MAX,
        "query.searchDepth": "7", "query.num_traces": "9",
        "query.attributes": '{"http.method":"GET","otel.status_code":"ERROR"}',
        "query.rawTraces": "true"})
    query = fake.calls[0][1]
    assert query.service == "svc" and query.limit == 7 and query.status == "error"
    assert query.attributes == (AttributeFilter("http.method", "GET"),)
    client(fake).get("/api/v3/traces", params={
        "query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX, "query.search_depth": "3"})
    assert fake.calls[-1][1].limit == 3 and fake.calls[-1][1].service is None
    client(fake).get("/api/v3/traces", params={
        "query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX})
    assert fake.calls[-1][1].limit == 100


def test_find_traces_empty_is_404():
    resp = client(FakeQuery()).get("/api/v3/traces", params={
        "query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX})
    assert resp.status_code == 404 and resp.json() == err(404, "No traces found")


def test_get_trace_empty_is_404():
    resp = client(FakeQuery()).get("/api/v3/traces/1")
    assert resp.status_code == 404 and resp.json() == err(404, "No traces found")


@pytest.mark.parametrize("url,message", [
    ("/api/v3/traces/xyz", 'malformed parameter trace_id: strconv.ParseUint: parsing "xyz": invalid syntax'),
    ("/api/v3/traces/1?start_time=abc", "malformed parameter start_time: parsing time"),
    ("/api/v3/traces/1?end_time=xyz", "malformed parameter end_time: parsing time"),
    ("/api/v3/traces/1?endTime=xyz", "malformed parameter endTime: parsing time"),
    ("/api/v3/traces/1?raw_traces=foobar", 'malformed parameter raw_traces: strconv.ParseBool: parsing "foobar": invalid syntax'),
])
def test_get_trace_malformed_input(url, message):
    fake = FakeQuery(traces={TRACE: [record()]})
    resp = client(fake).get(url)
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"]["httpCode"] == 400 and body["error"]["message"].startswith(message)
    assert fake.calls == []


def test_get_trace_time_window_is_accepted():
    fake = FakeQuery(traces={TRACE: [record()]})
    resp = client(fake).get("/api/v3/traces/1", params={
        "start_time": "2000-01-02T12:30:08.999999998Z", "end_time": "2000-04-05T21:55:16.999999992+08:00"})
    assert resp.status_code == 200


RANGE_ERR = "query.startTimeMin and query.startTimeMax are required"


@pytest.mark.parametrize("params,message", [
    ({}, RANGE_ERR),
    ({"query.start_time_min": GOOD_MIN}, RANGE_ERR),
    ({"query.start_time_max": GOOD_MAX}, RANGE_ERR),
    ({"query.start_time_min": "NaN", "query.start_time_max": GOOD_MAX}, "malformed parameter query.start_time_min"),
    ({"query.start_time_min": GOOD_MIN, "query.start_time_max": "NaN"}, "malformed parameter query.start_time_max"),
    ({"query.start_time_min": GOOD_MAX, "query.start_time_max": GOOD_MIN}, "query.startTimeMin must be before query.startTimeMax"),
    ({"query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MIN}, "query.startTimeMin must be before query.startTimeMax"),
    ({"query.num_traces": "NaN"}, 'malformed parameter query.num_traces: strconv.Atoi: parsing "NaN": invalid syntax'),
    ({"query.searchDepth": "5 OR 1=1"}, 'malformed parameter query.searchDepth: strconv.Atoi'),
    ({"query.search_depth": str(MAX_LIMIT + 1)}, f"malformed parameter query.search_depth: {MAX_LIMIT + 1} is out of range"),
    ({"query.duration_min": "NaN"}, 'malformed parameter query.duration_min: time: invalid duration "NaN"'),
    ({"query.durationMax": "1s'--"}, 'malformed parameter query.durationMax: time: unknown unit'),
    ({"query.duration_min": "-1s"}, "malformed parameter query.duration_min: must not be negative"),
    ({"query.duration_max": "1s", "query.raw_traces": "foobar"}, "malformed parameter query.raw_traces"),
    ({"query.attributes": '{"x":1}'}, "malformed parameter query.attributes: json: cannot unmarshal number"),
    ({"query.attributes": "DROP TABLE"}, "malformed parameter query.attributes: invalid JSON"),
])
def test_find_traces_errors(params, message):
    full = {"query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX} if "query.start_time_min" not in params and "query.start_time_max" not in params and params else {}
    full.update(params)
    for path in ("/api/v3/traces", "/api/v3/trace-summaries"):
        fake = FakeQuery(traces={TRACE: [record()]})
        resp = client(fake).get(path, params=full)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["httpCode"] == 400
        assert resp.json()["error"]["message"].startswith(message), resp.json()
        assert fake.calls == []


@pytest.mark.parametrize("exc,status", [(StoreError("span reader error"), 503), (InvalidInput("too wide"), 400)])
def test_store_errors(exc, status):
    fake = FakeQuery(error=exc)
    c = client(fake)
    for path in ("/api/v3/traces/1", "/api/v3/services", "/api/v3/operations?service=foo",
                 f"/api/v3/traces?query.start_time_min={GOOD_MIN}&query.start_time_max=2025-01-01T00:00:00Z"):
        resp = c.get(path)
        assert resp.status_code == status and resp.json() == err(status, str(exc))


def test_unexpected_error_is_500():
    resp = client(FakeQuery(error=KeyError("x"))).get("/api/v3/services")
    assert resp.status_code == 500 and resp.json() == err(500, "internal error")


# services and operations -------------------------------------------------------------------
def test_services():
    assert client(FakeQuery(services=["a", "b"])).get("/api/v3/services").json() == {"services": ["a", "b"]}
    assert client(FakeQuery()).get("/api/v3/services").json() == {"services": []}


def test_operations_snapshot_and_default_span_kind():
    fake = FakeQuery(operations=[Operation("get_users", "server"), Operation("unspecified_op", "")])
    resp = client(fake).get("/api/v3/operations?service=foo")
    assert resp.json() == {"operations": [{"name": "get_users", "spanKind": "server"},
                                          {"name": "unspecified_op", "spanKind": "internal"}]}
    assert fake.calls == [("operations", "foo", None)]
    client(fake).get("/api/v3/operations?service=foo&span_kind=server")
    client(fake).get("/api/v3/operations?spanKind=client&span_kind=server")
    assert fake.calls[1:] == [("operations", "foo", "server"), ("operations", None, "client")]
    resp = client(fake).get("/api/v3/operations?span_kind=sideways")
    assert resp.status_code == 400
    assert resp.json() == err(400, "unable to parse param 'span_kind': unsupported span kind: 'sideways'")


# trace summaries ---------------------------------------------------------------------------
def test_trace_summaries_follow_upstream_snapshot():
    fake = FakeQuery(summaries=[
        TraceSummary(TRACE, "frontend", "HTTP GET /", 1_000_000_000_000, 1_000_000_000, 2, 1, ("frontend",)),
        TraceSummary("4bf92f3577b34da6a3ce929d0e0e4736", "", "", 5, 0, 1, 0, ()),
    ])
    resp = client(fake).get("/api/v3/trace-summaries", params={
        "query.service_name": "frontend", "query.start_time_min": GOOD_MIN,
        "query.start_time_max": GOOD_MAX, "query.num_traces": "20", "query.raw_traces": "true"})
    assert resp.status_code == 200
    assert resp.json() == {"summaries": [
        {"traceId": "00000000000000000000000000000001", "rootServiceName": "frontend",
         "rootOperationName": "HTTP GET /", "minStartTimeUnixNano": "1000000000000",
         "maxEndTimeUnixNano": "1001000000000", "spanCount": 2, "errorSpanCount": 1,
         "services": [{"name": "frontend"}]},
        {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "minStartTimeUnixNano": "5",
         "maxEndTimeUnixNano": "5", "spanCount": 1},
    ]}
    assert fake.calls[0][0] == "search" and fake.calls[0][1].limit == 20
    assert fake.calls[0][1].service == "frontend"


def test_trace_summaries_empty_is_200():
    resp = client(FakeQuery()).get("/api/v3/trace-summaries", params={
        "query.start_time_min": GOOD_MIN, "query.start_time_max": GOOD_MAX})
    assert resp.status_code == 200 and resp.json() == {"summaries": []}


# the OTLP/JSON encoder ---------------------------------------------------------------------
FULL = SpanRecord(
    trace_id="5B8EFFF798038103D269B633813FC60C", span_id="b7ad6b7169203331",
    parent_span_id="00f067aa0ba902b7", trace_state="rojo=1", flags=0x301, name="POST /pay", kind=3,
    service_name="checkout", start_ns=1_700_000_000_123_456_789, duration_ns=2_500_999,
    status_code=2, status_message="card declined",
    attributes={"http.status_code": 402, "retry": False, "ratio": 0.5, "big": 2**62,
                "raw": b"\x00\xff", "tags": ["a", 1, 2.5, True, None], "m": {"k": "v", "n": [1]},
                "empty": None, "nan": math.nan, "inf": -math.inf, "s": ""},
    resource_attributes={"service.name": "checkout", "host.name": "web-1"},
    scope_name="io.opentelemetry.requests", scope_version="0.42b0",
    events=(EventRecord(1_700_000_000_123_457_000, "exception", {"exception.type": "ValueError"}, 2),
            EventRecord(0, "")),
    links=(LinkRecord("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b8", "congo=1",
                      {"link.reason": "batch"}, 1, 3),),
    dropped_attributes_count=1, dropped_events_count=2, dropped_links_count=3)


def test_full_span_encoding():
    doc = traces_data([[FULL]])
    assert doc == {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "checkout"}},
            {"key": "host.name", "value": {"stringValue": "web-1"}}]},
        "scopeSpans": [{
            "scope": {"name": "io.opentelemetry.requests", "version": "0.42b0"},
            "spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "b7ad6b7169203331",
                "traceState": "rojo=1", "parentSpanId": "00f067aa0ba902b7", "flags": 0x301,
                "name": "POST /pay", "kind": 3,
                "startTimeUnixNano": "1700000000123456789", "endTimeUnixNano": "1700000000125957788",
                "attributes": [
                    {"key": "http.status_code", "value": {"intValue": "402"}},
                    {"key": "retry", "value": {"boolValue": False}},
                    {"key": "ratio", "value": {"doubleValue": 0.5}},
                    {"key": "big", "value": {"intValue": "4611686018427387904"}},
                    {"key": "raw", "value": {"bytesValue": "AP8="}},
                    {"key": "tags", "value": {"arrayValue": {"values": [
                        {"stringValue": "a"}, {"intValue": "1"}, {"doubleValue": 2.5},
                        {"boolValue": True}, {}]}}},
                    {"key": "m", "value": {"kvlistValue": {"values": [
                        {"key": "k", "value": {"stringValue": "v"}},
                        {"key": "n", "value": {"arrayValue": {"values": [{"intValue": "1"}]}}}]}}},
                    {"key": "empty", "value": {}},
                    {"key": "nan", "value": {"doubleValue": "NaN"}},
                    {"key": "inf", "value": {"doubleValue": "-Infinity"}},
                    {"key": "s", "value": {"stringValue": ""}},
                ],
                "droppedAttributesCount": 1,
                "events": [
                    {"timeUnixNano": "1700000000123457000", "name": "exception",
                     "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}}],
                     "droppedAttributesCount": 2},
                    {}],
                "droppedEventsCount": 2,
                "links": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b8",
                           "traceState": "congo=1",
                           "attributes": [{"key": "link.reason", "value": {"stringValue": "batch"}}],
                           "droppedAttributesCount": 3, "flags": 1}],
                "droppedLinksCount": 3,
                "status": {"message": "card declined", "code": 2},
            }]}]}]}


def test_grouping_by_resource_and_scope():
    a1 = record("0000000000000001", "a1", service_name="a", resource_attributes={"service.name": "a"}, scope_name="s1")
    a2 = record("0000000000000002", "a2", service_name="a", resource_attributes={"service.name": "a"}, scope_name="s2")
    b1 = record("0000000000000003", "b1", service_name="b", resource_attributes={})   # no attrs: service.name added
    a3 = record("0000000000000004", "a3", service_name="a", resource_attributes={"service.name": "a"}, scope_name="s1",
                status_code=0, kind=0, parent_span_id="0000000000000000")
    doc = traces_data([[a1, a2, b1, a3]])
    shape = [(rs["resource"], [(ss["scope"], [s["name"] for s in ss["spans"]]) for ss in rs["scopeSpans"]])
             for rs in doc["resourceSpans"]]
    assert shape == [
        ({"attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]},
         [({"name": "s1"}, ["a1", "a3"]), ({"name": "s2"}, ["a2"])]),
        ({"attributes": [{"key": "service.name", "value": {"stringValue": "b"}}]}, [({}, ["b1"])]),
    ]
    a3_json = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert a3_json == {"traceId": TRACE, "spanId": "0000000000000004", "name": "a3", "status": {}}
    # two traces: each trace's resourceSpans, one after the other
    assert len(traces_data([[a1], [a2]])["resourceSpans"]) == 2


def test_any_value_of_bytes_like():
    assert any_value(bytearray(b"\x01")) == {"bytesValue": "AQ=="}
    assert any_value([]) == {"arrayValue": {}}
    assert any_value({}) == {"kvlistValue": {}}
