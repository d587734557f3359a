"""The requests Grafana's Tempo data source really sends, and the fields it really reads.

Ported from grafana/grafana (read with the search tools, 2026-12):

- ``public/app/plugins/datasource/tempo/datasource.ts``: ``init`` (GET /api/status/buildinfo,
  ``response.data.version`` compared with ``semver.gte`` to ``featuresToTempoVersion``:
  searchStreaming 2.2.0, metricsStreaming 2.7.0), ``handleTraceQlQuery`` (GET /api/search
  with ``q``, ``limit`` (DEFAULT_LIMIT 20), ``spss`` (DEFAULT_SPSS 3), ``start``/``end`` as
  ``range.unix()`` seconds), ``formatTraceQLResponse`` in ``resultTransformer.ts`` (reads
  traceID, rootServiceName, rootTraceName, startTimeUnixNano, durationMs, spanSets/spanSet,
  spans' spanID, name, startTimeUnixNano, durationNanos, attributes, matched);
- ``language_provider.ts``: GET /api/v2/search/tags (start, end), falling back to
  /api/search/tags; GET /api/v2/search/tag/{scope.tag}/values with q, start, end (falling back
  to /api/search/tag/{tag}/values); reads ``scopes[].name/tags`` and ``tagValues[].type/value``;
- the backend, ``pkg/tsdb/tempo/trace.go``: GET /api/v2/traces/{id}?span_pruning=true with
  ``Accept: application/protobuf``, ``proto.Unmarshal`` into ``tempopb.TraceByIDResponse``
  (a 404 retries /api/traces/{id} as ``tempopb.Trace``); no resourceSpans = "not found";
- ``pkg/tsdb/tempo/traceql_query.go``: GET /api/metrics/query_range (or /api/metrics/query)
  with q, start/end in seconds, step, ``Accept: application/json``, decoded by golang/protobuf's
  strict ``jsonpb.Unmarshal`` into ``QueryRangeResponse`` / ``QueryInstantResponse``: a field
  the message lacks fails the query, so the bodies are checked against the messages' fields
  (Tempo 2.6's ``tempo.proto``, the oldest Grafana still pins).
"""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from starlette.testclient import TestClient

from spanhouse.api.tempo.app import create_tempo_app
from spanhouse.query.traceql.engine import TraceQLEngine

from tests.traceql import dataset as ds
from tests.traceql.test_tempo_api import _field_1

START_S, END_S = ds.WINDOW[0] // 10**9, ds.WINDOW[1] // 10**9 + 1


@pytest.fixture(scope="module")
def grafana(make_store):
    service, reader = make_store(ds.batches(), "tempo_grafana")
    with TestClient(create_tempo_app(TraceQLEngine(reader), service, reader=reader)) as client:
        yield client


def _semver(text: str) -> tuple[int, int, int]:
    """node-semver's ordering of a version: build metadata (``+...``) is ignored."""
    core = text.split("+", 1)[0]
    assert "-" not in core, "a prerelease would sort below the release Grafana compares with"
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch


def test_init_buildinfo_enables_every_feature(grafana):
    version = grafana.get("/api/status/buildinfo").json()["version"]
    assert _semver(version) >= (2, 2, 0)      # searchStreaming's minimum
    assert _semver(version) >= (2, 7, 0)      # metricsStreaming's minimum


def test_test_datasource_echo(grafana):
    r = grafana.get("/api/echo")
    assert r.status_code == 200 and r.text.strip() == "echo"


def test_handle_traceql_query(grafana):
    q = '{resource.service.name="cart" && status=error}'
    r = grafana.get("/api/search", params={"q": q, "limit": 20, "spss": 3,
                                           "start": START_S, "end": END_S})
    assert r.status_code == 200, r.text
    traces = r.json()["traces"]
    expected = {s.trace for s in ds.SPANS if s.service == "cart" and s.status == ds.ERROR}
    assert {t["traceID"] for t in traces} == expected
    for t in traces:
        # formatTraceQLResponse: startTime = parseInt(startTimeUnixNano, 10) / 1e6 (ms)
        assert int(t["startTimeUnixNano"], 10) // 1_000_000 == ds.trace_start_ns(t["traceID"]) // 1_000_000
        assert isinstance(t["durationMs"], int)
        assert isinstance(t["rootServiceName"], str) and isinstance(t["rootTraceName"], str)
        for span_set in t["spanSets"]:
            assert isinstance(span_set["matched"], int)
            for span in span_set["spans"]:
                assert set(span) <= {"spanID", "name", "startTimeUnixNano", "durationNanos",
                                     "attributes"}
                assert int(span["durationNanos"]) == ds.BY_ID[span["spanID"]].duration_ns
                for attribute in span["attributes"]:
                    assert set(attribute) == {"key", "value"}
                    (kind,) = attribute["value"]
                    assert kind in ("stringValue", "intValue", "doubleValue", "boolValue")


def test_by_attributes_reach_the_span_set(grafana):
    r = grafana.get("/api/search", params={"q": "{ } | by(resource.service.name)", "limit": 20,
                                           "spss": 3, "start": START_S, "end": END_S})
    assert r.status_code == 200, r.text
    sets = [s for t in r.json()["traces"] for s in t["spanSets"]]
    assert sets and all(s.get("attributes") for s in sets)
    values = {a["value"]["stringValue"] for s in sets for a in s["attributes"]}
    assert values <= set(ds.RESOURCES) and len(values) > 1


def test_language_provider_tags_and_values(grafana):
    window = {"start": START_S, "end": END_S}
    scopes = grafana.get("/api/v2/search/tags", params=window).json()["scopes"]
    by_name = {s["name"]: s["tags"] for s in scopes}
    assert "service.name" in by_name["resource"] and "http.route" in by_name["span"]
    # getTagKeys: name + "." + tag unless intrinsic; each such key is a valid v2 values tag.
    for scope, tag in (("resource", "service.name"), ("span", "http.route")):
        r = grafana.get(f"/api/v2/search/tag/{scope}.{tag}/values",
                        params={"q": "{}", **window})
        assert r.status_code == 200, r.text
        assert all(set(v) == {"type", "value"} for v in r.json()["tagValues"])
    filtered = grafana.get("/api/v2/search/tag/span.http.route/values",
                           params={"q": '{resource.service.name="frontend" && '
                                        'span.user.tier="paid"}', **window}).json()
    assert filtered["tagValues"] == [{"type": "string", "value": "/browse"}]
    # The v1 fallbacks.
    assert "service.name" in grafana.get("/api/search/tags", params=window).json()["tagNames"]
    values = grafana.get("/api/search/tag/http.route/values", params=window).json()["tagValues"]
    assert set(values) == {s.attributes["http.route"] for s in ds.SPANS if "http.route" in s.attributes}


def test_backend_trace_by_id_protobuf(grafana):
    r = grafana.get(f"/api/v2/traces/{ds.CHECKOUT}", params={"span_pruning": "true"},
                    headers={"Accept": "application/protobuf"})
    assert r.status_code == 200
    trace = TracesData.FromString(_field_1(r.content))     # TraceByIDResponse.trace
    spans = [s for rs in trace.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.span_id.hex() for s in spans) == sorted(
        s.span_id for s in ds.trace_spans(ds.CHECKOUT))
    services = {kv.value.string_value for rs in trace.resource_spans
                for kv in rs.resource.attributes if kv.key == "service.name"}
    assert services == {s.service for s in ds.trace_spans(ds.CHECKOUT)}


def test_backend_trace_not_found_is_an_empty_trace(grafana):
    r = grafana.get("/api/v2/traces/" + "0" * 31 + "9", params={"span_pruning": "true"},
                    headers={"Accept": "application/protobuf"})
    assert r.status_code == 200
    assert not TracesData.FromString(_field_1(r.content)).resource_spans
    v1 = grafana.get("/api/traces/" + "0" * 31 + "9", headers={"Accept": "application/protobuf"})
    assert v1.status_code == 404


# The fields of Tempo 2.6's messages (pkg/tempopb/tempo.proto at v2.6.0, common.proto):
# strict jsonpb refuses anything else.
_ANY_VALUE = {"stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue",
              "bytesValue"}
_SEARCH_METRICS = {"inspectedTraces", "inspectedBytes", "totalBlocks", "completedJobs",
                   "totalJobs", "totalBlockBytes", "inspectedSpans"}


def _check_labels(labels):
    for label in labels:
        assert set(label) <= {"key", "value"}
        assert set(label["value"]) <= _ANY_VALUE


def _check_range(body):
    assert set(body) <= {"series", "metrics"}
    assert set(body.get("metrics", {})) <= _SEARCH_METRICS
    for series in body.get("series", []):
        assert set(series) <= {"labels", "samples", "promLabels", "exemplars"}
        _check_labels(series.get("labels", []))
        for sample in series.get("samples", []):
            assert set(sample) <= {"timestampMs", "value"}
            int(sample["timestampMs"])          # int64: a decimal string


def _check_instant(body):
    assert set(body) <= {"series", "metrics"}
    assert set(body.get("metrics", {})) <= _SEARCH_METRICS
    for series in body.get("series", []):
        assert set(series) <= {"labels", "value", "promLabels"}
        _check_labels(series.get("labels", []))


@pytest.mark.parametrize("q", [
    "{ } | rate()",
    "{ status = error } | rate() by (resource.service.name)",
    "{ } | quantile_over_time(duration, .5, .9) by (resource.service.name)",
    "{ } | histogram_over_time(duration)",
])
def test_backend_metrics_query_range_is_strict_jsonpb(grafana, q):
    for step in ("60s", None):
        params = {"q": q, "start": START_S, "end": END_S}
        if step:
            params["step"] = step
        r = grafana.get("/api/metrics/query_range", params=params,
                        headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        body = r.json()
        _check_range(body)
        assert body["series"], f"{q}: no series over the dataset"


def test_backend_metrics_instant_is_strict_jsonpb(grafana):
    r = grafana.get("/api/metrics/query", params={
        "q": "{ } | count_over_time() by (resource.service.name)", "start": START_S,
        "end": END_S}, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    _check_instant(body)
    values = {s["labels"][0]["value"]["stringValue"]: s["value"] for s in body["series"]}
    expected = {}
    for span in ds.SPANS:
        expected[span.service] = expected.get(span.service, 0) + span.weight
    assert values == pytest.approx(expected)


def test_backend_metrics_error_is_plain_text(grafana):
    r = grafana.get("/api/metrics/query_range", params={"q": "{ } | rate(", "start": START_S,
                                                        "end": END_S})
    # traceql_query.go: "failed to execute TraceQL query: %s Status: %s Body: %s"
    assert r.status_code == 400 and r.text.startswith("invalid TraceQL query: line 1, col")
