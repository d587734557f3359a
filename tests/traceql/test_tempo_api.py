"""Grafana Tempo's HTTP API (``spanhouse/api/tempo``) over a real embedded store and the real
TraceQL engine: Tempo's response shapes (``pkg/tempopb/tempo.proto`` as its frontend marshals
them), its parameter grammar (``pkg/api/http.go``) and its error answers.

Expectations come from the dataset's span list (``tests/traceql/dataset.py``), never from the
engine's output.
"""

from __future__ import annotations

import base64
import json

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from starlette.applications import Starlette
from starlette.testclient import TestClient

from spanhouse.api.params import Params
from spanhouse.api.tempo import legacy, params as tp
from spanhouse.api.tempo.app import create_tempo_app, explain_routes, routes
from spanhouse.query.traceql.engine import TraceQLEngine

from tests.traceql import dataset as ds

START_S, END_S = ds.WINDOW[0] // 10**9, ds.WINDOW[1] // 10**9 + 1
WINDOW = {"start": START_S, "end": END_S}


@pytest.fixture(scope="module")
def tempo(make_store):
    service, reader = make_store(ds.batches(), "tempo_api")
    engine = TraceQLEngine(reader)
    app = create_tempo_app(engine, service, reader=reader)
    app.router.routes.extend(explain_routes(engine))
    with TestClient(app) as client:
        yield client


def get(client, path, **params):
    return client.get(path, params=params)


def traces_with(predicate) -> set[str]:
    return {s.trace for s in ds.SPANS if predicate(s)}


# ------------------------------------------------------------------------------ echo, buildinfo
def test_echo_answers_echo_as_plain_text(tempo):
    r = tempo.get("/api/echo")
    assert r.status_code == 200 and r.text == "echo\n"
    assert r.headers["content-type"].startswith("text/plain")


def test_buildinfo_has_prometheus_version_fields_and_a_tempo_semver(tempo):
    body = tempo.get("/api/status/buildinfo").json()
    assert set(body) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    core, _, build = body["version"].partition("+")
    major, minor, patch = (int(x) for x in core.split("."))
    assert (major, minor) >= (2, 7), "Grafana enables metrics streaming options from 2.7.0"
    assert build.startswith("spanhouse.")


# ------------------------------------------------------------------------------ /api/search
def test_search_answers_tempo_search_response(tempo):
    r = get(tempo, "/api/search", q='{ span.http.route = "/checkout" }', **WINDOW)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = traces_with(lambda s: s.attributes.get("http.route") == "/checkout")
    assert {t["traceID"] for t in body["traces"]} == expected
    for trace in body["traces"]:
        root = ds.root(trace["traceID"])
        assert trace["rootServiceName"] == root.service
        assert trace["rootTraceName"] == root.name
        assert trace["startTimeUnixNano"] == str(ds.trace_start_ns(trace["traceID"]))
        assert trace["durationMs"] == ds.trace_duration_ns(trace["traceID"]) // 1_000_000
        assert trace["spanSet"] == trace["spanSets"][0]
        (span_set,) = trace["spanSets"]
        assert span_set["matched"] == 1
        (span,) = span_set["spans"]
        assert span["spanID"] == root.span_id
        assert span["durationNanos"] == str(root.duration_ns)      # uint64: a JSON string
        assert span["startTimeUnixNano"] == str(root.start_ns)
        # keyed by the bare name, as Tempo's asTraceSearchMetadata keys it
        assert {"key": "http.route", "value": {"stringValue": "/checkout"}} \
            in span["attributes"]
    assert body["metrics"]["inspectedTraces"] >= len(expected)


def test_search_limit_and_spss(tempo):
    body = get(tempo, "/api/search", q="{ }", limit=2, spss=1, **WINDOW).json()
    assert len(body["traces"]) == 2
    for trace in body["traces"]:
        assert all(len(s["spans"]) <= 1 for s in trace["spanSets"])
        matched = sum(s["matched"] for s in trace["spanSets"])
        assert matched == len(ds.trace_spans(trace["traceID"]))


def test_search_of_a_rootless_trace_says_root_not_received(tempo):
    body = get(tempo, "/api/search", q='{ name = "INSERT" }', **WINDOW).json()
    (trace,) = body["traces"]
    assert trace["traceID"] == ds.ORPHAN
    assert trace["rootServiceName"] == "<root span not yet received>"


def test_search_default_window_is_the_last_hour(tempo):
    # The dataset is two hours old: Tempo's default (recent data) does not reach it.
    body = get(tempo, "/api/search", q="{ }").json()
    assert body["traces"] == []


def test_old_style_tags_search(tempo):
    body = get(tempo, "/api/search", tags="http.status_code=500", **WINDOW).json()
    assert {t["traceID"] for t in body["traces"]} == traces_with(
        lambda s: s.attributes.get("http.status_code") == 500)
    body = get(tempo, "/api/search", tags='service.name=payment name="refund"', **WINDOW).json()
    assert {t["traceID"] for t in body["traces"]} == traces_with(
        lambda s: s.service == "payment" and s.name == "refund")


def test_old_style_durations_filter_trace_duration(tempo):
    body = get(tempo, "/api/search", minDuration="1500ms", **WINDOW).json()
    assert {t["traceID"] for t in body["traces"]} == {
        t for t in ds.START if ds.trace_duration_ns(t) >= 1500 * ds.MS}
    body = get(tempo, "/api/search", maxDuration="100ms", **WINDOW).json()
    assert {t["traceID"] for t in body["traces"]} == {
        t for t in ds.START if ds.trace_duration_ns(t) <= 100 * ds.MS}


@pytest.mark.parametrize("params, message", [
    ({"q": "{ span.http.route = }"}, "invalid TraceQL query: line 1, col"),
    ({"q": "{ }", "tags": "a=b"}, "can't specify tags and q in the same query"),
    ({"q": "{ }", "start": "20", "end": "10"}, "http parameter start must be before end"),
    ({"q": "{ }", "start": "x"}, "invalid start"),
    ({"q": "{ }", "start": "100"}, "http parameter start must be before end"),
    ({"q": "{ }", "limit": "0"}, "invalid limit: must be a positive number"),
    ({"q": "{ }", "spss": "-1"}, "invalid spss"),
    ({"minDuration": "1parsec"}, "invalid minDuration"),
    ({"minDuration": "2s", "maxDuration": "1s"}, "must be greater than minDuration"),
    ({"tags": "a=b a=c"}, "has been set twice"),
    ({"q": "{ } | rate()"}, ""),
    ({"q": "(" * 10_000}, ""),
    ({"q": '{ span.x =~ "' + "a" * 20_000 + '" }'}, ""),
])
def test_search_refuses_bad_requests_with_400_plain_text(tempo, params, message):
    r = get(tempo, "/api/search", **params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert message in r.text


def test_injection_in_values_is_data(tempo):
    q = '{ span.q = "x\'; DROP TABLE otel_traces; --" }'
    body = get(tempo, "/api/search", q=q, **WINDOW).json()
    assert [t["traceID"] for t in body["traces"]] == [ds.HOSTILE]
    assert get(tempo, "/api/search", q="{ }", **WINDOW).json()["traces"]


# ------------------------------------------------------------------------------ tags
def test_v2_tags_by_scope(tempo):
    body = get(tempo, "/api/v2/search/tags", **WINDOW).json()
    scopes = {s["name"]: s["tags"] for s in body["scopes"]}
    span_keys = {k for s in ds.SPANS for k in s.attributes}
    resource_keys = {k for r in ds.RESOURCES.values() for k in r}
    assert set(scopes["span"]) == span_keys
    assert set(scopes["resource"]) == resource_keys
    assert "exception.type" in scopes["event"]
    assert {"name", "status", "duration", "kind", "rootServiceName"} <= set(scopes["intrinsic"])
    only_span = get(tempo, "/api/v2/search/tags", scope="span", **WINDOW).json()
    assert [s["name"] for s in only_span["scopes"]] == ["span"]
    assert get(tempo, "/api/v2/search/tags", scope="bogus", **WINDOW).status_code == 400


def test_v1_tags_are_one_flat_list(tempo):
    body = get(tempo, "/api/search/tags", **WINDOW).json()
    assert {"service.name", "http.route", "cart.items"} <= set(body["tagNames"])
    assert body["tagNames"] == sorted(body["tagNames"])


def test_tags_restricted_by_q(tempo):
    body = get(tempo, "/api/v2/search/tags", scope="span",
               q='{ resource.service.name = "db" }', **WINDOW).json()
    (scope,) = body["scopes"]
    assert set(scope["tags"]) == {k for s in ds.SPANS if s.service == "db" for k in s.attributes}


def test_v2_tag_values_are_typed(tempo):
    body = get(tempo, "/api/v2/search/tag/span.http.status_code/values", **WINDOW).json()
    assert sorted((v["type"], v["value"]) for v in body["tagValues"]) == sorted(
        {("int", str(s.attributes["http.status_code"])) for s in ds.SPANS
         if "http.status_code" in s.attributes})
    body = get(tempo, "/api/v2/search/tag/resource.service.name/values", **WINDOW).json()
    assert {(v["type"], v["value"]) for v in body["tagValues"]} == {
        ("string", name) for name in ds.RESOURCES}
    body = get(tempo, "/api/v2/search/tag/span.amount/values", **WINDOW).json()
    assert {(v["type"], v["value"]) for v in body["tagValues"]} == {("float", "12.5"),
                                                                     ("int", "99")}


@pytest.mark.parametrize("tag, expected", [
    ("event.exception.type", {("string", "CardError")}),
    (".region", {("string", "eu")}),                       # unscoped: the resource's
    (".http.route", {("string", "/checkout"), ("string", "/browse")}),
    ('span."quote\\"key\'"', {("string", "v\\'")}),      # a quoted attribute name
    ("instrumentation:name", {("string", "io.otel.flask"), ("string", "tests.traceql")}),
    ("rootServiceName", {("string", "frontend")}),
])
def test_v2_values_of_every_kind_of_tag(tempo, tag, expected):
    r = get(tempo, f"/api/v2/search/tag/{tag}/values", **WINDOW)
    assert r.status_code == 200, r.text
    assert {(v["type"], v["value"]) for v in r.json()["tagValues"]} == expected


def test_v2_intrinsic_values(tempo):
    status = get(tempo, "/api/v2/search/tag/status/values", **WINDOW).json()["tagValues"]
    assert {v["value"] for v in status} == {"ok", "error", "unset"}
    assert {v["type"] for v in status} == {"keyword"}
    names = get(tempo, "/api/v2/search/tag/name/values", **WINDOW).json()["tagValues"]
    assert {v["value"] for v in names} == {s.name for s in ds.SPANS}
    assert get(tempo, "/api/v2/search/tag/duration/values", **WINDOW).json()["tagValues"] == []


@pytest.mark.parametrize("q", [
    '{ resource.service.name = "payment" }',
    '{ resource.service.name = "payment" && span.',          # half typed, as in an editor
    '{ resource.service.name = "payment" } | count() > 1',
])
def test_v2_tag_values_restricted_by_q(tempo, q):
    body = get(tempo, "/api/v2/search/tag/name/values", q=q, **WINDOW).json()
    assert {v["value"] for v in body["tagValues"]} == {
        s.name for s in ds.SPANS if s.service == "payment"}


def test_v1_tag_values_are_strings_of_the_unscoped_attribute(tempo):
    body = get(tempo, "/api/search/tag/service.name/values", **WINDOW).json()
    assert set(body["tagValues"]) == set(ds.RESOURCES)
    body = get(tempo, "/api/search/tag/db.system/values", **WINDOW).json()
    assert body["tagValues"] == ["postgresql"]


def test_v1_virtual_tag_values(tempo):
    body = get(tempo, "/api/search/tag/status.code/values", **WINDOW).json()
    assert body["tagValues"] == ["unset", "ok", "error"]


def test_routes_mount_under_a_prefix(make_store):
    service, reader = make_store(ds.batches(), "tempo_prefix")
    app = Starlette(routes=routes(TraceQLEngine(reader), service, prefix="/tempo", reader=reader))
    with TestClient(app) as client:
        assert client.get("/tempo/api/echo").text == "echo\n"
        body = get(client, "/tempo/api/search", q='{ name = "INSERT" }', **WINDOW).json()
        assert [t["traceID"] for t in body["traces"]] == [ds.ORPHAN]
        assert client.get("/api/echo").status_code == 404


def test_tag_values_q_injection_is_data(tempo):
    q = '{ span.q = "x\'; DROP TABLE otel_traces; --" }'
    body = get(tempo, "/api/v2/search/tag/name/values", q=q, **WINDOW).json()
    assert [v["value"] for v in body["tagValues"]] == ["GET /search"]


# ------------------------------------------------------------------------------ traces
def _hex(b64: str) -> str:
    return base64.b64decode(b64).hex()


def test_v1_trace_is_otlp_json_with_batches(tempo):
    r = tempo.get(f"/api/traces/{ds.CHECKOUT}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    spans = [span for rs in body["batches"] for ss in rs["scopeSpans"] for span in ss["spans"]]
    assert {_hex(s["spanId"]) for s in spans} == {s.span_id for s in ds.trace_spans(ds.CHECKOUT)}
    assert {_hex(s["traceId"]) for s in spans} == {ds.CHECKOUT}
    c2 = next(s for s in spans if _hex(s["spanId"]) == ds.sid(ds.CHECKOUT, "c2"))
    assert c2["kind"] == "SPAN_KIND_SERVER"
    assert c2["status"] == {"code": "STATUS_CODE_ERROR", "message": "cart failed"}
    assert c2["startTimeUnixNano"] == str(ds.BY_ID[ds.sid(ds.CHECKOUT, "c2")].start_ns)


def test_v1_absent_trace_is_404_with_an_empty_body(tempo):
    r = tempo.get("/api/traces/" + "ab" * 16)
    assert r.status_code == 404 and r.content == b""
    assert tempo.get("/api/traces/not-hex").status_code == 400


def test_v2_trace_json(tempo):
    body = tempo.get(f"/api/v2/traces/{ds.BROWSE}", params=WINDOW).json()
    spans = [s for rs in body["trace"]["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    assert len(spans) == len(ds.trace_spans(ds.BROWSE))
    b2 = next(s for s in spans if _hex(s["spanId"]) == ds.sid(ds.BROWSE, "b2"))
    assert [_hex(link["traceId"]) for link in b2["links"]] == [ds.CHECKOUT]
    absent = tempo.get("/api/v2/traces/" + "ab" * 16)
    assert absent.status_code == 200 and absent.json()["trace"] == {}
    filtered = tempo.get(f"/api/v2/traces/{ds.BROWSE}", params={"q": "{ status = error }"})
    assert filtered.status_code == 400 and "not supported by Spanhouse" in filtered.text


def test_traces_as_protobuf(tempo):
    accept = {"Accept": "application/protobuf"}
    v1 = tempo.get(f"/api/traces/{ds.SLOW}", headers=accept)
    assert v1.headers["content-type"] == "application/protobuf"
    message = TracesData.FromString(v1.content)
    spans = [s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert {s.span_id.hex() for s in spans} == {s.span_id for s in ds.trace_spans(ds.SLOW)}
    v2 = tempo.get(f"/api/v2/traces/{ds.SLOW}", headers=accept)
    trace = _field_1(v2.content)      # TraceByIDResponse.trace
    assert TracesData.FromString(trace) == message


def _field_1(data: bytes) -> bytes:
    """The bytes of field 1 (length-delimited) of a protobuf message."""
    assert data[0] == 0x0A
    length, shift, i = 0, 0, 1
    while True:
        byte = data[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            break
        shift += 7
    return data[i:i + length]


# ------------------------------------------------------------------------------ metrics
def test_query_range_shape_and_sampling_aware_values(tempo):
    r = get(tempo, "/api/metrics/query_range",
            q="{ } | count_over_time() by (resource.service.name)", step="60s", **WINDOW)
    assert r.status_code == 200, r.text
    assert r.headers["x-spanhouse-sampling-aware"] == "true"
    body = r.json()
    totals = {}
    for series in body["series"]:
        (label,) = series["labels"]
        assert label["key"] == "resource.service.name"
        for sample in series["samples"]:
            assert isinstance(sample["timestampMs"], str)
            assert int(sample["timestampMs"]) % 60_000 == 0
        totals[label["value"]["stringValue"]] = sum(s["value"] for s in series["samples"])
    expected = {}
    for span in ds.SPANS:
        expected[span.service] = expected.get(span.service, 0) + span.weight
    assert totals == pytest.approx(expected)


def test_query_instant_and_the_query_alias(tempo):
    r = get(tempo, "/api/metrics/query", query="{ status = error } | count_over_time()",
            **WINDOW)
    assert r.status_code == 200, r.text
    (series,) = r.json()["series"]
    assert series["value"] == pytest.approx(sum(s.weight for s in ds.SPANS if s.status == ds.ERROR))


@pytest.mark.parametrize("params, message", [
    ({"q": "{ } | rate()", "step": "-5s"}, "step must be positive"),
    ({"q": "{ } | rate()", "step": "soon"}, "to a valid duration"),
    ({"q": "{ } | rate()", "start": "yesterday"}, "could not parse 'start' parameter"),
    ({"q": "{ } | rate()", "since": "1lightyear"}, "could not parse 'since' parameter"),
    ({}, "q parameter is required"),
    ({"q": "{ } | rate("}, "invalid TraceQL query"),
])
def test_metrics_refuse_bad_requests(tempo, params, message):
    r = get(tempo, "/api/metrics/query_range", **params)
    assert r.status_code == 400 and message in r.text, r.text


# ------------------------------------------------------------------------------ explain
def test_explain_lists_sql_with_placeholders_not_values(tempo):
    r = get(tempo, "/api/v1/traceql/explain", q='{ resource.service.name = "cart-x1" }', **WINDOW)
    assert r.status_code == 200, r.text
    sql = r.json()["sql"]
    assert sql and all(isinstance(s, str) for s in sql)
    assert "cart-x1" not in " ".join(sql) and "{" in " ".join(sql)
    r = get(tempo, "/api/v1/traceql/explain", q="{ } | rate() by (span.http.route)", step="60",
            **WINDOW)
    assert r.status_code == 200 and r.json()["sql"]
    assert get(tempo, "/api/v1/traceql/explain", q="{ ").status_code == 400


# ------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("value, ns", [
    ("1700000000", 1_700_000_000 * 10**9),                 # seconds: up to 10 digits
    ("1700000000123456789", 1_700_000_000_123_456_789),     # more digits: nanoseconds
    ("1700000000.25", 1_700_000_000_250_000_000),           # fractional seconds
    ("2023-11-14T22:13:20Z", 1_700_000_000 * 10**9),        # RFC 3339
])
def test_metrics_timestamps_as_tempo_parses_them(value, ns):
    assert tp.parse_timestamp(value, "start") == ns


@pytest.mark.parametrize("window_s, step_ns", [
    (3600, 15 * 10**9),          # 1 h -> 240 points of 15 s (Tempo's baseline)
    (30, 100_000_000),           # under a minute: multiples of 50 ms
    (1, 50_000_000),             # the 50 ms floor
    (86400, 300 * 10**9),        # a day: 360 s rounds down to 5 m
    (120, 10**9 // 2 * 2),       # 0.5 s baseline -> 1 s minimum
])
def test_default_step_is_tempos(window_s, step_ns):
    assert tp.default_step(0, window_s * 10**9) == step_ns


@pytest.mark.parametrize("step, ns", [("15", 15 * 10**9), ("0.5", 5 * 10**8), ("1m30s", 90 * 10**9)])
def test_step_is_seconds_or_a_go_duration(step, ns):
    assert tp.step_ns(Params({"step": step}), 0, 10) == ns


def test_logfmt_tags_become_one_spanset_filter():
    tags = legacy.parse_logfmt('service.name=cart http.status_code=500 name="GET /x y" '
                               'status.code=error root.service.name=front')
    q = legacy.to_traceql(tags, 1_000_000, 0)
    assert q == ('{ .service.name = "cart" && (.http.status_code = "500" || '
                 '.http.status_code = 500) && name = "GET /x y" && status = error && '
                 'rootServiceName =~ ".*front.*" && traceDuration >= 1000000ns }')
    assert legacy.to_traceql({}, None, None) == "{ }"
    assert json.loads(legacy.string_literal('a"b\\c')) == 'a"b\\c'
