"""Nested attribute values are bounded: a span nested too deep is rejected alone (partial
success), never a RecursionError, and never the loss of the request's valid spans.

OTLP/JSON: more than ``MAX_VALUE_DEPTH`` levels of arrayValue/kvlistValue. OTLP protobuf: what
the parser refuses (``PROTOBUF_MAX_DEPTH`` nested messages). Zipkin: tags are strings, a nested
tag value is kept as JSON text, one beyond orjson's reach rejects its span.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanhouse.errors import InvalidInput
from spanhouse.model.limits import MAX_VALUE_DEPTH
from spanhouse.model.otlp_encode import encode_bytes
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.model.otlp_proto import check_request, decode_proto_bytes
from spanhouse.model.zipkin import decode_zipkin_v2_json

TRACE = "5b8efff798038103d269b633813fc60c"
T0 = 1_700_000_000_000_000_000


# ------------------------------------------------------------------------------- OTLP/JSON
def nested_json(levels: int, kind: str = "arrayValue") -> dict:
    """An AnyValue with ``levels`` levels of arrays (or kvlists) around an int."""
    value: dict = {"intValue": "1"}
    for _ in range(levels):
        if kind == "arrayValue":
            value = {"arrayValue": {"values": [value]}}
        else:
            value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


PLACEHOLDER = {"stringValue": "@@deep@@"}


def deep_text(levels: int, kind: str = "arrayValue") -> bytes:
    """``nested_json(levels)`` as JSON text, built without recursion (json.dumps would hit
    Python's own recursion limit); put in a body in place of ``PLACEHOLDER``."""
    if kind == "arrayValue":
        head, tail = '{"arrayValue":{"values":[', "]}}"
    else:
        head, tail = '{"kvlistValue":{"values":[{"key":"k","value":', "}]}}"
    return (head * levels + '{"intValue":"1"}' + tail * levels).encode()


def with_deep(body: bytes, levels: int, kind: str = "arrayValue") -> bytes:
    return body.replace(json.dumps(PLACEHOLDER).encode(), deep_text(levels, kind))


def json_span(span_id: str, name: str, attributes=(), events=()) -> dict:
    return {"traceId": TRACE, "spanId": span_id, "name": name,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1000),
            "attributes": list(attributes), "events": list(events)}


def json_body(*spans: dict, resource_attributes=()) -> bytes:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}},
                                    *resource_attributes]},
        "scopeSpans": [{"spans": list(spans)}]}]}).encode()


@pytest.mark.parametrize("kind", ["arrayValue", "kvlistValue"])
def test_json_at_the_limit_is_kept_and_one_level_more_rejects_that_span_alone(kind):
    at_limit = {"key": "ok", "value": nested_json(MAX_VALUE_DEPTH, kind)}
    beyond = {"key": "deep", "value": nested_json(MAX_VALUE_DEPTH + 1, kind)}
    event = {"timeUnixNano": str(T0), "name": "e", "attributes": [at_limit]}  # deepest place
    result = decode_json_bytes(json_body(
        json_span("00000000000000a1", "kept", [at_limit], [event]),
        json_span("00000000000000b2", "too deep", [beyond]),
        json_span("00000000000000c3", "plain")))
    assert list(result.batch.name) == ["kept", "plain"]
    assert result.rejected == 1
    assert "'too deep'" in result.error_message and f"more than {MAX_VALUE_DEPTH}" in result.error_message
    # what JSON accepts re-encodes into protobuf that parses again, identically
    again = decode_proto_bytes(encode_bytes(result.batch))
    assert again.rejected == 0 and list(again.batch.name) == ["kept", "plain"]
    assert list(again.batch.attributes.values) == list(result.batch.attributes.values)
    assert list(again.batch.event_attributes.values) == list(result.batch.event_attributes.values)


def test_json_330_deep_as_in_the_issue_keeps_the_valid_span():
    """The issue's request: arrayValue 330 deep beside a valid span answered a bare 500."""
    result = decode_json_bytes(with_deep(json_body(
        json_span("00000000000000a1", "valid"),
        json_span("00000000000000b2", "hostile", [{"key": "x", "value": PLACEHOLDER}])), 330))
    assert list(result.batch.name) == ["valid"] and result.rejected == 1


def test_json_deep_value_in_an_event_rejects_its_span_alone():
    event = {"timeUnixNano": str(T0), "name": "e",
             "attributes": [{"key": "x", "value": PLACEHOLDER}]}
    result = decode_json_bytes(with_deep(json_body(
        json_span("00000000000000b2", "deep event", events=[event]),
        json_span("00000000000000a1", "valid")), 200, "kvlistValue"))
    assert list(result.batch.name) == ["valid"] and result.rejected == 1
    assert "events[0] attribute 'x'" in result.error_message


def test_json_deep_resource_attribute_rejects_that_resources_spans_not_the_request():
    deep = {"key": "deep", "value": nested_json(MAX_VALUE_DEPTH + 1)}
    body = json.dumps({"resourceSpans": [
        json.loads(json_body(json_span("00000000000000b2", "under deep resource"),
                             resource_attributes=[deep]))["resourceSpans"][0],
        json.loads(json_body(json_span("00000000000000a1", "valid")))["resourceSpans"][0],
    ]}).encode()
    result = decode_json_bytes(body)
    assert list(result.batch.name) == ["valid"] and result.rejected == 1
    assert "resource attribute 'deep'" in result.error_message


def test_json_beyond_the_parsers_reach_is_invalid_input_not_a_crash():
    """orjson refuses nesting beyond 1024: the whole body is not JSON it reads (400)."""
    body = with_deep(json_body(json_span("00000000000000a1", "x", [{"key": "x", "value": PLACEHOLDER}])),
                     2000)
    with pytest.raises(InvalidInput):
        decode_json_bytes(body)


@pytest.mark.parametrize("values", [{"values": "not a list"}, {"values": [{"value": {}}]},
                                    {"values": [{"key": ["unhashable"]}]}, {"values": [3]}])
def test_json_malformed_kvlist_rejects_its_span_alone(values):
    bad = {"key": "x", "value": {"kvlistValue": values}}
    result = decode_json_bytes(json_body(json_span("00000000000000b2", "bad", [bad]),
                                         json_span("00000000000000a1", "valid")))
    assert list(result.batch.name) == ["valid"] and result.rejected == 1


def test_json_malformed_kvlist_in_a_resource_is_a_400_not_a_500():
    bad = {"key": "x", "value": {"kvlistValue": {"values": [{"value": {}}]}}}
    with pytest.raises(InvalidInput):
        decode_json_bytes(json_body(json_span("00000000000000a1", "x"), resource_attributes=[bad]))


# --------------------------------------------------------------------------- OTLP protobuf
def proto_request(spans: list[tuple[str, int]], resource_depth: int = 0) -> bytes:
    """One resource, one scope, a span per (name, levels of arrays in its attribute 'x')."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, value = "service.name", kv.value
    for _ in range(resource_depth):
        value = value.array_value.values.add()
    value.string_value = "svc"
    scope = rs.scope_spans.add()
    scope.scope.name = "lib"
    for i, (name, levels) in enumerate(spans):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = bytes.fromhex(TRACE), bytes([0, 0, 0, 0, 0, 0, 1, i + 1]), name
        span.start_time_unix_nano, span.end_time_unix_nano = T0, T0 + 1000
        kv = span.attributes.add()
        kv.key, value = "x", kv.value
        for _ in range(levels):
            value = value.array_value.values.add()
        value.int_value = 7
    return req.SerializeToString()


def test_proto_span_deeper_than_the_parser_allows_is_rejected_alone():
    body = proto_request([("valid", 3), ("hostile", 60), ("also valid", 40)])
    with pytest.raises(Exception):  # the premise: the parser refuses the request whole
        ExportTraceServiceRequest().ParseFromString(body)
    result = decode_proto_bytes(body)
    assert list(result.batch.name) == ["valid", "also valid"] and result.rejected == 1
    assert "'hostile'" in result.error_message and "deep" in result.error_message
    assert list(result.batch.attributes.values)[1] == "[" * 40 + "7" + "]" * 40
    # the receivers' check keeps the same spans and logs a request that parses again
    payload, kept, checked = check_request(body)
    assert kept == 2 and checked.rejected == 1
    again = decode_proto_bytes(payload)
    assert again.rejected == 0 and again.batch == result.batch


def test_proto_deep_span_is_judged_at_its_depth_in_the_request():
    """A span that would parse on its own but not three levels down is rejected: what is kept
    must parse again when the write-ahead log replays the rebuilt request."""
    for levels in range(44, 50):
        body = proto_request([("edge", levels), ("hostile", 80)])
        payload, kept, checked = check_request(body)
        assert kept + checked.rejected == 2
        ExportTraceServiceRequest().ParseFromString(payload)  # never raises
        assert decode_proto_bytes(payload).rejected == 0


def test_proto_deep_resource_rejects_its_spans():
    body = proto_request([("a", 0), ("b", 0)], resource_depth=60)
    result = decode_proto_bytes(body)
    assert len(result.batch) == 0 and result.rejected == 2
    assert "resource" in result.error_message


def test_proto_broken_framing_is_still_refused_whole():
    body = proto_request([("hostile", 60)])
    with pytest.raises(InvalidInput):
        check_request(body[:-3])


# ---------------------------------------------------------------------------------- Zipkin
def zipkin_span(span_id: str, name: str, **tags) -> dict:
    return {"traceId": TRACE, "id": span_id, "name": name, "timestamp": T0 // 1000,
            "duration": 5, "localEndpoint": {"serviceName": "svc"}, "tags": tags}


def nested_list(levels: int):
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_zipkin_nested_tag_is_json_text_and_too_deep_rejects_its_span_alone():
    body = json.dumps([zipkin_span("00000000000000a1", "nested", x=nested_list(40)),
                       zipkin_span("00000000000000b2", "hostile", x=nested_list(300)),
                       zipkin_span("00000000000000c3", "plain", x="y")]).encode()
    result = decode_zipkin_v2_json(body)
    assert list(result.batch.name) == ["nested", "plain"] and result.rejected == 1
    assert "[" * 40 + "1" + "]" * 40 in list(result.batch.attributes.values)
