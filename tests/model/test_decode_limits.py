"""Decoders range-check every number against its ClickHouse column and reject a poison span
alone; rejection messages stay bounded; what they keep really inserts (real chDB, real writer)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from spanhouse.model.batch import DecodeResult, SpanBatch
from spanhouse.model.limits import (
    MAX_ERROR_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MAX_TIME_NS, UINT32_MAX,
)
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.model.otlp_proto import decode_proto_bytes
from spanhouse.model.zipkin import decode_zipkin_v2_json
from spanhouse.store.connection import open_client
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter
from tests.chdb_dir import open_keeper

T0 = 1_700_000_000_123_456_789          # ns
T0_US = T0 // 1000
TRACE = "5b8efff798038103d269b633813fc60c"
GOOD_ID = "00000000000000a1"
POISON_ID = "00000000000000b2"
HUGE_NAME = "n" * (10 * 1024 * 1024)


def message_bytes(result: DecodeResult) -> int:
    return len(result.error_message.encode())


# ------------------------------------------------------------------------------ the store
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """``write(batch) -> rows``: writes a batch into a fresh database with the real writer and
    returns its rows (SpanId, SpanName, Timestamp ns, Duration, SpanKind, StatusCode, flags)."""
    endpoint, keeper = open_keeper(tmp_path_factory, "chdb-model")
    opened = []

    def client():
        c = open_client(endpoint, "default")
        opened.append(c)
        return c

    def write(batch: SpanBatch) -> list[tuple]:
        database = f"limits_{uuid.uuid4().hex[:10]}"
        reader = client()
        create_schema(reader, database, "otel_traces")
        assert TraceWriter(client(), database, "otel_traces").write(batch) == len(batch)
        return [tuple(row) for row in reader.query(
            "SELECT SpanId, SpanName, toUnixTimestamp64Nano(Timestamp), Duration, SpanKind, "
            "StatusCode, TraceFlags, length(Events.Timestamp), length(Links.Flags) "
            f"FROM {database}.otel_traces ORDER BY SpanId").result_rows]

    try:
        yield write
    finally:
        for c in opened:
            c.close()
        keeper.close()


# ------------------------------------------------------------------------- OTLP protobuf
def proto_span(span_id: str = GOOD_ID, name: str = "good", start: int = T0, end: int = T0 + 5000,
               events: tuple[int, ...] = ()) -> Span:
    span = Span(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(span_id), name=name,
                kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=start, end_time_unix_nano=end)
    for t in events:
        span.events.add(time_unix_nano=t, name="e")
    span.links.add(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(GOOD_ID), flags=UINT32_MAX)
    span.attributes.append(KeyValue(key="big", value=AnyValue(int_value=-(2**63))))
    return span


def proto_body(*spans: Span) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="svc")))
    rs.scope_spans.add().spans.extend(spans)
    return request.SerializeToString()


PROTO_POISON = {
    "start 2^63": (dict(start=2**63), "startTimeUnixNano"),
    "start = MAX": (dict(start=MAX_TIME_NS), "startTimeUnixNano"),
    "start 2^64-1": (dict(start=2**64 - 1), "startTimeUnixNano"),
    "end = MAX": (dict(end=MAX_TIME_NS), "endTimeUnixNano"),
    "event time over": (dict(events=(T0, MAX_TIME_NS)), "events[1].timeUnixNano"),
}


@pytest.mark.parametrize("case", PROTO_POISON, ids=list(PROTO_POISON))
def test_proto_poison_span_rejected_alone(store, case):
    poison, field = PROTO_POISON[case]
    result = decode_proto_bytes(proto_body(
        proto_span(events=(T0 + 1,)), proto_span(POISON_ID, "poison", **poison)))
    assert result.rejected == 1
    assert result.batch.span_id == [GOOD_ID]
    assert field in result.error_message and "'poison'" in result.error_message
    assert store(result.batch) == [(GOOD_ID, "good", T0, 5000, "Server", "Unset", 0, 1, 1)]


def test_proto_edges_are_kept_and_insert(store):
    """The last representable instant, a missing (0) time, and end < start (Duration 0)."""
    last = MAX_TIME_NS - 1
    result = decode_proto_bytes(proto_body(
        proto_span("00000000000000a1", "last", start=last, end=last, events=(last,)),
        proto_span("00000000000000a2", "zero", start=0, end=0, events=(0,)),
        proto_span("00000000000000a3", "backwards", start=T0, end=T0 - 10),
        *(proto_span(f"00000000000000b{i}", "bad", **poison)
          for i, (poison, _) in enumerate(PROTO_POISON.values()))))
    assert result.rejected == len(PROTO_POISON)
    assert len(result.batch) == 3
    assert store(result.batch) == [
        ("00000000000000a1", "last", last, 0, "Server", "Unset", 0, 1, 1),
        ("00000000000000a2", "zero", 0, 0, "Server", "Unset", 0, 1, 1),
        ("00000000000000a3", "backwards", T0, 0, "Server", "Unset", 0, 0, 1),
    ]


# ---------------------------------------------------------------------------- OTLP/JSON
def json_span(span_id: str = GOOD_ID, name: str = "good", **fields) -> dict:
    span = {"traceId": TRACE, "spanId": span_id, "name": name, "kind": 2,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 5000),
            "attributes": [{"key": "n", "value": {"intValue": str(2**63 - 1)}}],
            "events": [{"timeUnixNano": str(T0 + 1), "name": "e"}],
            "links": [{"traceId": TRACE, "spanId": GOOD_ID, "flags": UINT32_MAX}]}
    span.update(fields)
    return span


def dumps(doc) -> bytes:
    """JSON with integers of any size (orjson refuses those beyond 64 bits)."""
    return json.dumps(doc).encode()


def json_body(*spans: dict, resource: dict | None = None) -> bytes:
    resource = resource or {"attributes": [{"key": "service.name",
                                            "value": {"stringValue": "svc"}}]}
    return dumps({"resourceSpans": [{"resource": resource,
                                     "scopeSpans": [{"spans": list(spans)}]}]})


BIG = 2**64  # orjson reads it as a float; as a string it stays an int: both must be rejected
JSON_POISON = {
    "droppedAttributesCount -1": (dict(droppedAttributesCount=-1), "droppedAttributesCount"),
    "droppedEventsCount 2^32": (dict(droppedEventsCount=2**32), "droppedEventsCount"),
    "droppedLinksCount 1.5": (dict(droppedLinksCount=1.5), "droppedLinksCount"),
    "flags 2^40": (dict(flags=2**40), "flags"),
    "flags -1": (dict(flags=-1), "flags"),
    "link flags 2^32": (dict(links=[{"traceId": TRACE, "spanId": GOOD_ID, "flags": 2**32}]),
                        "links[0].flags"),
    "link droppedAttributesCount -1": (
        dict(links=[{"traceId": TRACE, "spanId": GOOD_ID, "droppedAttributesCount": -1}]),
        "links[0].droppedAttributesCount"),
    "intValue 2^64 string": (dict(attributes=[{"key": "k", "value": {"intValue": str(BIG)}}]),
                             "intValue"),
    "intValue 2^64 number": (dict(attributes=[{"key": "k", "value": {"intValue": BIG}}]),
                             "intValue"),
    "intValue -2^63-1 in an array": (
        dict(attributes=[{"key": "k", "value": {"arrayValue": {"values": [
            {"intValue": str(-(2**63) - 1)}]}}}]), "intValue"),
    "start 2^63": (dict(startTimeUnixNano=str(2**63)), "startTimeUnixNano"),
    "start = MAX": (dict(startTimeUnixNano=str(MAX_TIME_NS)), "startTimeUnixNano"),
    "start -1": (dict(startTimeUnixNano=-1), "startTimeUnixNano"),
    "end 2^64": (dict(endTimeUnixNano=str(2**64)), "endTimeUnixNano"),
    "event time over": (dict(events=[{"timeUnixNano": str(MAX_TIME_NS)}]),
                        "events[0].timeUnixNano"),
    "event droppedAttributesCount 2^32": (
        dict(events=[{"timeUnixNano": str(T0), "droppedAttributesCount": 2**32}]),
        "events[0].droppedAttributesCount"),
}


@pytest.mark.parametrize("case", JSON_POISON, ids=list(JSON_POISON))
def test_json_poison_span_rejected_alone(store, case):
    poison, field = JSON_POISON[case]
    result = decode_json_bytes(json_body(json_span(), json_span(POISON_ID, "poison", **poison)))
    assert result.rejected == 1
    assert result.batch.span_id == [GOOD_ID]
    assert field in result.error_message and "'poison'" in result.error_message
    assert store(result.batch) == [(GOOD_ID, "good", T0, 5000, "Server", "Unset", 0, 1, 1)]


@pytest.mark.parametrize("kind, code", [(2**70, 2**70), (str(2**70), -(2**40)), (-1, -1), (9, 7)])
def test_json_out_of_range_enums_are_kept_as_unspecified(store, kind, code):
    result = decode_json_bytes(json_body(json_span(kind=kind, status={"code": code})))
    assert result.rejected == 0, result.error_message
    assert store(result.batch) == [(GOOD_ID, "good", T0, 5000, "Unspecified", "Unset", 0, 1, 1)]


def test_json_bad_resource_rejects_each_of_its_spans_only(store):
    bad = json_body(json_span("00000000000000b1"), json_span("00000000000000b2"),
                    resource={"droppedAttributesCount": -1})
    good = json_body(json_span(flags=1))
    body = dumps({"resourceSpans": json.loads(bad)["resourceSpans"]
                  + json.loads(good)["resourceSpans"]})
    result = decode_json_bytes(body)
    assert result.rejected == 2
    assert "resource droppedAttributesCount" in result.error_message
    assert store(result.batch) == [(GOOD_ID, "good", T0, 5000, "Server", "Unset", 1, 1, 1)]

    big_attr = {"attributes": [{"key": "pid", "value": {"intValue": str(2**64)}}]}
    result = decode_json_bytes(json_body(json_span(), resource=big_attr))
    assert (result.rejected, len(result.batch)) == (1, 0)
    assert "resource attribute 'pid'" in result.error_message


def test_json_huge_values_are_not_echoed():
    result = decode_json_bytes(json_body(json_span(), json_span(POISON_ID, HUGE_NAME,
                                                                flags="x" * 10_000_000)))
    assert result.rejected == 1 and "flags" in result.error_message
    assert message_bytes(result) <= MAX_MESSAGE_BYTES


# --------------------------------------------------------------------------- Zipkin v2
def zipkin_span(span_id: str = GOOD_ID, name: str = "good", **fields) -> dict:
    span = {"traceId": TRACE, "id": span_id, "name": name, "kind": "SERVER",
            "timestamp": T0_US, "duration": 5, "localEndpoint": {"serviceName": "svc", "port": 80},
            "annotations": [{"timestamp": T0_US + 1, "value": "e"}]}
    span.update(fields)
    return span


ZIPKIN_POISON = {
    "timestamp 2^62": (dict(timestamp=2**62), "timestamp"),
    "timestamp -1": (dict(timestamp=-1), "timestamp"),
    "timestamp = MAX/1000 + 1": (dict(timestamp=MAX_TIME_NS // 1000 + 1), "timestamp"),
    "negative duration": (dict(duration=-1), "duration"),
    "timestamp + duration over": (dict(duration=MAX_TIME_NS // 1000), "timestamp + duration"),
    "duration over, no timestamp": (dict(timestamp=None, duration=2**62), "timestamp + duration"),
    "annotation timestamp 2^62": (dict(annotations=[{"timestamp": 2**62, "value": "x"}]),
                                  "annotations[0].timestamp"),
    "annotation timestamp -5": (dict(annotations=[{"timestamp": -5, "value": "x"}]),
                                "annotations[0].timestamp"),
    "annotation dropped 2^32": (dict(annotations=[{"timestamp": T0_US, "value": 'x|{"a":1}|4294967296'}]),
                                "annotations[0] dropped attributes count"),
    "port 70000": (dict(remoteEndpoint={"port": 70000}), "remoteEndpoint.port"),
}


@pytest.mark.parametrize("case", ZIPKIN_POISON, ids=list(ZIPKIN_POISON))
def test_zipkin_poison_span_rejected_alone(store, case):
    poison, field = ZIPKIN_POISON[case]
    result = decode_zipkin_v2_json(dumps([zipkin_span(),
                                                 zipkin_span(POISON_ID, "poison", **poison)]))
    assert result.rejected == 1
    assert result.batch.span_id == [GOOD_ID]
    assert field in result.error_message and "'poison'" in result.error_message
    assert store(result.batch) == [(GOOD_ID, "good", T0 // 1000 * 1000, 5000, "Server", "Unset",
                                    0, 1, 0)]


def test_zipkin_huge_integer_annotation_attribute_is_a_double(store):
    payload = 'e|{"big":1e300,"n":-9223372036854775808}|0'
    result = decode_zipkin_v2_json(dumps([zipkin_span(
        annotations=[{"timestamp": T0_US, "value": payload}])]))
    assert result.rejected == 0, result.error_message
    assert result.batch.event_attributes.set_items(0) == [("big", "1e+300", 3),
                                                          ("n", "-9223372036854775808", 2)]
    assert len(store(result.batch)) == 1


# ------------------------------------------------------------------- bounded messages
def test_huge_span_name_is_not_echoed():
    bad_id = proto_span(POISON_ID, HUGE_NAME)
    bad_id.trace_id = bytes(16)
    result = decode_proto_bytes(proto_body(proto_span(), bad_id))
    assert result.rejected == 1 and "trace id" in result.error_message
    assert message_bytes(result) <= MAX_MESSAGE_BYTES < MAX_ERROR_MESSAGE_BYTES
    assert "'" + "n" * 100 + "'…" in result.error_message

    result = decode_zipkin_v2_json(dumps([zipkin_span(POISON_ID, HUGE_NAME, duration=-1)]))
    assert result.rejected == 1 and "duration" in result.error_message
    assert message_bytes(result) <= MAX_MESSAGE_BYTES


@pytest.mark.parametrize("decoder", ["proto", "json", "zipkin"])
def test_many_rejections_keep_the_first_messages_and_count_the_rest(decoder):
    n = 5000
    if decoder == "proto":
        spans = [proto_span(start=2**63, name=f"s{i}") for i in range(n)]
        result = decode_proto_bytes(proto_body(proto_span(), *spans))
    elif decoder == "json":
        spans = [json_span(name=f"s{i}", flags=-1) for i in range(n)]
        result = decode_json_bytes(json_body(json_span(), *spans))
    else:
        spans = [zipkin_span(name=f"s{i}", duration=-1) for i in range(n)]
        result = decode_zipkin_v2_json(dumps([zipkin_span(), *spans]))
    assert (result.rejected, len(result.batch)) == (n, 1)
    assert message_bytes(result) <= MAX_ERROR_MESSAGE_BYTES
    assert result.error_message.startswith("span 's0' rejected" if decoder != "proto" else "span 's0'")
    more = re.search(r"\(and (\d+) more spans rejected\)$", result.error_message)
    assert more, result.error_message[-200:]
    shown = len(re.findall(r"span 's\d+'", result.error_message))
    assert shown >= 3 and shown + int(more.group(1)) == n


def test_decode_result_bounds_every_message():
    result = DecodeResult(SpanBatch())
    result.reject("é" * 1_000_000)               # multi-byte: the bound is in UTF-8 bytes
    assert result.error_message.endswith("…") and message_bytes(result) <= MAX_MESSAGE_BYTES
    for _ in range(20):
        result.reject("x" * 5000)
    assert result.rejected == 21
    assert message_bytes(result) <= MAX_ERROR_MESSAGE_BYTES
    assert result.error_message.endswith("(and 18 more spans rejected)")

    one = DecodeResult(SpanBatch())
    one.reject("first")
    assert one.error_message == "first"
    one.reject("second")
    assert one.error_message == "first; second"
