"""SpanRecords -> Jaeger's classic ``/api/traces`` JSON.

``UI_01`` ports Jaeger's own fixture ``model/converter/json/fixtures/ui_01.json``
(jaegertracing/jaeger): the same trace, built from OTLP-shaped records the way the collector's
translator (``pkg/translator/jaeger/traces_to_jaegerproto.go``) would map them. Differences
that OTLP forces are noted next to the span.
"""

from __future__ import annotations

import json

import orjson

from spanhouse.api.jaeger_json import envelope, key_value, trace_to_jaeger
from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord

T = 1485467191639875139  # 2017-01-26T16:46:31.639875139-05:00, as in domain_01.json
TRACE = "00000000000000000000000000000001"  # high 64 bits zero: Jaeger prints 16 digits


def record(span_id: str, name: str, service: str, **kw) -> SpanRecord:
    base = dict(trace_id=TRACE, span_id=span_id, parent_span_id="", trace_state="", flags=0,
                name=name, kind=0, service_name=service, start_ns=T, duration_ns=5000,
                status_code=0, status_message="",
                resource_attributes={"service.name": service})
    base.update(kw)
    return SpanRecord(**base)


UI_01_SPANS = [
    record("0000000000000002", "test-general-conversion", "service-x", events=(
        EventRecord(T, "some-event"),
        EventRecord(T, "", {"x": "y"}),  # an event without a name: no "event" field
    )),
    record("0000000000000002", "some-operation", "service-x", attributes={
        "peer.service": "service-y", "peer.ipv4": 23456, "error": True, "temperature": 72.5,
        "blob": b"\x00\x00\x30\x39"}),
    record("0000000000000003", "some-operation", "service-y", parent_span_id="0000000000000002"),
    # ui_01 has CHILD_OF ff:ff before the parent; in OTLP the parent always comes first, and the
    # other references are links (typed by their opentracing.ref_type attribute).
    record("0000000000000004", "reference-test", "service-y", parent_span_id="0000000000000002",
           links=(
               LinkRecord("000000000000000000000000000000ff", "00000000000000ff",
                          attributes={"opentracing.ref_type": "child_of"}),
               LinkRecord(TRACE, "0000000000000003"),
           )),
    record("0000000000000005", "preserveParentID-test", "service-y",
           parent_span_id="0000000000000004", duration_ns=4000),
]

UI_01 = """
{
  "traceID": "0000000000000001",
  "spans": [
    {
      "traceID": "0000000000000001",
      "spanID": "0000000000000002",
      "operationName": "test-general-conversion",
      "references": [],
      "startTime": 1485467191639875,
      "duration": 5,
      "tags": [],
      "logs": [
        {"timestamp": 1485467191639875,
         "fields": [{"key": "event", "type": "string", "value": "some-event"}]},
        {"timestamp": 1485467191639875,
         "fields": [{"key": "x", "type": "string", "value": "y"}]}
      ],
      "processID": "p1",
      "warnings": null
    },
    {
      "traceID": "0000000000000001",
      "spanID": "0000000000000002",
      "operationName": "some-operation",
      "references": [],
      "startTime": 1485467191639875,
      "duration": 5,
      "tags": [
        {"key": "peer.service", "type": "string", "value": "service-y"},
        {"key": "peer.ipv4", "type": "int64", "value": 23456},
        {"key": "error", "type": "bool", "value": true},
        {"key": "temperature", "type": "float64", "value": 72.5},
        {"key": "blob", "type": "binary", "value": "AAAwOQ=="}
      ],
      "logs": [],
      "processID": "p1",
      "warnings": null
    },
    {
      "traceID": "0000000000000001",
      "spanID": "0000000000000003",
      "operationName": "some-operation",
      "references": [
        {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000002"}
      ],
      "startTime": 1485467191639875,
      "duration": 5,
      "tags": [],
      "logs": [],
      "processID": "p2",
      "warnings": null
    },
    {
      "traceID": "0000000000000001",
      "spanID": "0000000000000004",
      "operationName": "reference-test",
      "references": [
        {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000002"},
        {"refType": "CHILD_OF", "traceID": "00000000000000ff", "spanID": "00000000000000ff"},
        {"refType": "FOLLOWS_FROM", "traceID": "0000000000000001", "spanID": "0000000000000003"}
      ],
      "startTime": 1485467191639875,
      "duration": 5,
      "tags": [],
      "logs": [],
      "processID": "p2",
      "warnings": null
    },
    {
      "traceID": "0000000000000001",
      "spanID": "0000000000000005",
      "operationName": "preserveParentID-test",
      "references": [
        {"refType": "CHILD_OF", "traceID": "0000000000000001", "spanID": "0000000000000004"}
      ],
      "startTime": 1485467191639875,
      "duration": 4,
      "tags": [],
      "logs": [],
      "processID": "p2",
      "warnings": null
    }
  ],
  "processes": {
    "p1": {"serviceName": "service-x", "tags": []},
    "p2": {"serviceName": "service-y", "tags": []}
  },
  "warnings": null
}
"""


def as_json(value):
    """What a client parses: the document through the API's JSON encoder (orjson)."""
    return json.loads(orjson.dumps(value))


def test_ui_01_fixture():
    assert as_json(trace_to_jaeger(UI_01_SPANS)) == json.loads(UI_01)


OTEL_TRACE = "5b8efff798038103d269b633813fc60c"


def otel_span(**kw) -> SpanRecord:
    base = dict(trace_id=OTEL_TRACE, span_id="b7ad6b7169203331", parent_span_id="00f067aa0ba902b7",
                trace_state="rojo=00f067aa0ba902b7", flags=0x301, name="POST /pay", kind=3,
                service_name="checkout", start_ns=1_700_000_000_123_456_789,
                duration_ns=2_500_999, status_code=2, status_message="card declined",
                attributes={"http.status_code": 402, "retry": False},
                resource_attributes={"service.name": "checkout", "host.name": "web-1",
                                     "process.pid": 4242, "cpu": 0.5},
                scope_name="io.opentelemetry.requests", scope_version="0.42b0")
    base.update(kw)
    return SpanRecord(**base)


def test_translator_tags_in_order():
    span = as_json(trace_to_jaeger([otel_span()]))["spans"][0]
    assert span["tags"] == [
        {"key": "otel.scope.name", "type": "string", "value": "io.opentelemetry.requests"},
        {"key": "otel.scope.version", "type": "string", "value": "0.42b0"},
        {"key": "http.status_code", "type": "int64", "value": 402},
        {"key": "retry", "type": "bool", "value": False},
        {"key": "span.kind", "type": "string", "value": "client"},
        {"key": "otel.status_code", "type": "string", "value": "ERROR"},
        {"key": "error", "type": "bool", "value": True},
        {"key": "otel.status_description", "type": "string", "value": "card declined"},
        {"key": "w3c.tracestate", "type": "string", "value": "rojo=00f067aa0ba902b7"},
    ]
    assert span["traceID"] == OTEL_TRACE
    assert span["startTime"] == 1_700_000_000_123_456 and span["duration"] == 2_500
    assert span["flags"] == 1  # the sampled bit only
    assert span["references"] == [
        {"refType": "CHILD_OF", "traceID": OTEL_TRACE, "spanID": "00f067aa0ba902b7"}]


def test_kinds_and_statuses():
    kinds = {0: None, 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
    for kind, expected in kinds.items():
        tags = trace_to_jaeger([otel_span(kind=kind)])["spans"][0]["tags"]
        assert [t["value"] for t in tags if t["key"] == "span.kind"] == ([expected] if expected else [])
    ok = trace_to_jaeger([otel_span(status_code=1, status_message="")])["spans"][0]["tags"]
    assert {"key": "otel.status_code", "type": "string", "value": "OK"} in ok
    assert not [t for t in ok if t["key"] in ("error", "otel.status_description")]
    unset = trace_to_jaeger([otel_span(status_code=0, status_message="")])["spans"][0]["tags"]
    assert not [t for t in unset if t["key"].startswith("otel.status") or t["key"] == "error"]


def test_value_types():
    assert key_value("s", "x") == {"key": "s", "type": "string", "value": "x"}
    assert key_value("i", -7) == {"key": "i", "type": "int64", "value": -7}
    assert key_value("safe", 2 ** 53 - 1)["value"] == 2 ** 53 - 1
    assert key_value("big", 2 ** 53) == {"key": "big", "type": "int64", "value": "9007199254740992"}
    assert key_value("neg", -(2 ** 63))["value"] == "-9223372036854775808"
    assert key_value("d", 1e-7) == {"key": "d", "type": "float64", "value": 1e-7}
    assert key_value("b", True) == {"key": "b", "type": "bool", "value": True}
    assert key_value("bin", b"\xde\xad") == {"key": "bin", "type": "binary", "value": "3q0="}
    assert key_value("arr", [1, "a", True]) == {"key": "arr", "type": "string", "value": '[1,"a",true]'}
    assert key_value("map", {"b": 1, "a": [2]}) == {
        "key": "map", "type": "string", "value": '{"a":[2],"b":1}'}
    assert key_value("none", None) == {"key": "none", "type": "string", "value": ""}


def test_processes_are_deduplicated_per_service_and_tags():
    spans = [
        otel_span(span_id="0000000000000001"),
        otel_span(span_id="0000000000000002", resource_attributes={
            "service.name": "checkout", "host.name": "web-2"}),
        otel_span(span_id="0000000000000003"),
        otel_span(span_id="0000000000000004", service_name="", resource_attributes={}),
        otel_span(span_id="0000000000000005", service_name="payments",
                  resource_attributes={"service.name": "payments"}),
    ]
    doc = as_json(trace_to_jaeger(spans))
    assert [s["processID"] for s in doc["spans"]] == ["p1", "p2", "p1", "p3", "p4"]
    assert doc["processes"] == {
        "p1": {"serviceName": "checkout", "tags": [
            {"key": "host.name", "type": "string", "value": "web-1"},
            {"key": "process.pid", "type": "int64", "value": 4242},
            {"key": "cpu", "type": "float64", "value": 0.5}]},
        "p2": {"serviceName": "checkout", "tags": [
            {"key": "host.name", "type": "string", "value": "web-2"}]},
        "p3": {"serviceName": "OTLPResourceNoServiceName", "tags": []},
        "p4": {"serviceName": "payments", "tags": []},
    }


def test_links_become_references():
    links = (
        LinkRecord(OTEL_TRACE, "00f067aa0ba902b7",  # the parent itself: only retypes refs[0]
                   attributes={"opentracing.ref_type": "follows_from"}),
        LinkRecord("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b8", "congo=1",
                   {"link.reason": "batch"}, flags=1),
        LinkRecord("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b9",
                   attributes={"opentracing.ref_type": "child_of"}),
    )
    span = trace_to_jaeger([otel_span(links=links)])["spans"][0]
    assert span["references"] == [
        {"refType": "FOLLOWS_FROM", "traceID": OTEL_TRACE, "spanID": "00f067aa0ba902b7"},
        {"refType": "FOLLOWS_FROM", "traceID": "4bf92f3577b34da6a3ce929d0e0e4736",
         "spanID": "00f067aa0ba902b8"},
        {"refType": "CHILD_OF", "traceID": "4bf92f3577b34da6a3ce929d0e0e4736",
         "spanID": "00f067aa0ba902b9"},
    ]
    root = trace_to_jaeger([otel_span(parent_span_id="", links=links[1:2])])["spans"][0]
    assert [r["refType"] for r in root["references"]] == ["FOLLOWS_FROM"]


def test_events_become_logs():
    events = (
        EventRecord(1_700_000_000_000_001_999, "exception",
                    {"exception.type": "ValueError", "exception.escaped": True}),
        EventRecord(1_700_000_000_000_002_000, "named", {"event": "explicit"}),
    )
    span = as_json(trace_to_jaeger([otel_span(events=events)]))["spans"][0]
    assert span["logs"] == [
        {"timestamp": 1_700_000_000_000_001, "fields": [
            {"key": "event", "type": "string", "value": "exception"},
            {"key": "exception.type", "type": "string", "value": "ValueError"},
            {"key": "exception.escaped", "type": "bool", "value": True}]},
        {"timestamp": 1_700_000_000_000_002, "fields": [
            {"key": "event", "type": "string", "value": "explicit"}]},
    ]


def test_flags_are_omitted_when_zero():
    assert "flags" not in trace_to_jaeger([otel_span(flags=0)])["spans"][0]
    assert "flags" not in trace_to_jaeger([otel_span(flags=0x300)])["spans"][0]


def test_empty_trace():
    assert trace_to_jaeger([]) == {"traceID": "", "spans": [], "processes": {}, "warnings": None}


def test_envelope():
    doc = trace_to_jaeger([otel_span()])
    assert envelope([doc]) == {"data": [doc], "total": 0, "limit": 0, "offset": 0, "errors": None}
    assert envelope([doc], total=1, limit=20, offset=40)["total"] == 1
    err = envelope(None, errors=[{"code": 404, "msg": "trace not found"}])
    assert as_json(err) == {"data": None, "total": 0, "limit": 0, "offset": 0,
                            "errors": [{"code": 404, "msg": "trace not found"}]}
