"""SpanBatch -> OTLP protobuf: ``decode_request(encode_request(b))`` gives ``b`` back."""

from __future__ import annotations

import dataclasses
import math

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from spanhouse.model.attributes import TYPE_CODES
from spanhouse.model.batch import AttrColumns, SpanBatch
from spanhouse.model.enums import SpanKind, StatusCode
from spanhouse.model.otlp_encode import encode_bytes, encode_request, set_any
from spanhouse.model.otlp_proto import decode_proto_bytes, decode_request, encode_any
from tests.exporters import EVERY_TYPE, any_value, make_batch, make_request


def columns(batch: SpanBatch) -> dict:
    """Every column, attribute columns spelled out (NaN compared by its stored string)."""
    out = {}
    for f in dataclasses.fields(batch):
        value = getattr(batch, f.name)
        if isinstance(value, AttrColumns):
            for g in dataclasses.fields(value):
                out[f"{f.name}.{g.name}"] = getattr(value, g.name)
        else:
            out[f.name] = value
    return out


def assert_same(a: SpanBatch, b: SpanBatch) -> None:
    ca, cb = columns(a), columns(b)
    assert ca.keys() == cb.keys()
    for name in ca:
        assert ca[name] == cb[name], name


def roundtrip(batch: SpanBatch) -> SpanBatch:
    result = decode_request(encode_request(batch))
    assert result.rejected == 0
    return result.batch


def test_roundtrip_is_column_for_column():
    batch, _ = make_batch()
    assert len(batch) == 5 and len(batch.resource_service_name) == 2 and len(batch.scope_name) == 3
    again = roundtrip(batch)
    assert_same(batch, again)
    assert again == batch  # the dataclass equality too
    # and through bytes, as the exporters send it
    assert_same(batch, decode_proto_bytes(encode_bytes(batch)).batch)


def test_every_anyvalue_type_survives():
    batch, _ = make_batch()
    again = roundtrip(batch)
    items = {k: (v, c) for k, v, c in again.attributes.set_items(0)}
    for key in EVERY_TYPE:
        assert key in items, key
    codes = {k: c for k, (_, c) in items.items()}
    assert codes["str"] == TYPE_CODES["string"]
    assert codes["bool.t"] == TYPE_CODES["bool"]
    assert codes["int.big"] == TYPE_CODES["int"]
    assert codes["double.whole"] == TYPE_CODES["double"]
    assert codes["bytes"] == TYPE_CODES["bytes"]
    assert codes["array"] == codes["array.empty"] == TYPE_CODES["array"]
    assert codes["kvlist"] == codes["kvlist.empty"] == TYPE_CODES["kvlist"]
    assert codes["empty"] == TYPE_CODES["empty"]
    assert items["double.nan"][0] == "NaN" and items["double.inf"][0] == "-Inf"
    assert items["int.big"][0] == str(2**62)


@pytest.mark.parametrize("key", list(EVERY_TYPE))
def test_set_any_is_the_inverse_of_encode_any(key):
    original = any_value(EVERY_TYPE[key])
    text, code = encode_any(original)
    rebuilt = AnyValue()
    set_any(rebuilt, text, code)
    assert encode_any(rebuilt) == (text, code)
    if key not in ("array", "kvlist", "double.nan"):  # see below for those
        assert rebuilt == original
    if key == "double.nan":
        assert math.isnan(rebuilt.double_value)


def test_nested_values_keep_their_types():
    value = AnyValue()
    set_any(value, '[1,"a",true,2.5,null,[1,2],{"k":"v"}]', TYPE_CODES["array"])
    kinds = [v.WhichOneof("value") for v in value.array_value.values]
    assert kinds == ["int_value", "string_value", "bool_value", "double_value", None,
                     "array_value", "kvlist_value"]
    empty = AnyValue()
    set_any(empty, "[]", TYPE_CODES["array"])
    assert empty.WhichOneof("value") == "array_value"


def test_grouping_ids_events_links_and_status():
    req, trace_id = make_request()
    batch = decode_request(req).batch
    out = encode_request(batch)
    assert [len(rs.scope_spans) for rs in out.resource_spans] == [2, 1]
    assert [[len(ss.spans) for ss in rs.scope_spans] for rs in out.resource_spans] == [[2, 1], [2]]
    root = out.resource_spans[0].scope_spans[0].spans[0]
    sent = req.resource_spans[0].scope_spans[0].spans[0]
    assert root.trace_id == bytes.fromhex(trace_id) and root.parent_span_id == b""
    assert root.events == sent.events and root.links == sent.links
    assert (root.trace_state, root.flags, root.status.code) == ("vendor=a,other=b", 0x101, 1)
    child = out.resource_spans[0].scope_spans[0].spans[1]
    assert child.status.message == "deadlock detected"
    assert out.resource_spans[0].resource.dropped_attributes_count == 1
    assert out.resource_spans[1].resource == req.resource_spans[1].resource


def test_subset_and_concatenated_batches():
    batch, _ = make_batch()
    # spans of the second resource only: the first resource and its scopes are not sent
    sub = batch.take([3, 4])
    out = encode_request(sub)
    assert len(out.resource_spans) == 1
    assert out.resource_spans[0].scope_spans[0].scope.name == "worker.lib"
    again = decode_request(out).batch
    for name in ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns"):
        assert getattr(again, name) == getattr(sub, name)
    assert again.attributes == sub.attributes and again.link_span_id == sub.link_span_id
    assert again.service_of(0) == "worker"
    # two batches concatenated: four resources, all spans back in order
    other, _ = make_batch()
    both = SpanBatch.concat([batch, other])
    assert_same(both, roundtrip(both))


def test_empty_batch():
    assert len(encode_request(SpanBatch()).resource_spans) == 0


def test_service_name_restored_when_the_resource_lacks_the_attribute():
    batch = SpanBatch()
    r = batch.add_resource("from-zipkin")
    batch.resource_attributes.close_set()
    s = batch.add_scope("", "")
    for name, value in (("trace_id", "1" * 32), ("span_id", "2" * 16), ("parent_span_id", ""),
                        ("trace_state", ""), ("flags", 0), ("name", "x"), ("kind", SpanKind.SERVER),
                        ("start_ns", 1), ("end_ns", 2), ("status_code", StatusCode.UNSET),
                        ("status_message", ""), ("dropped_attributes_count", 0),
                        ("dropped_events_count", 0), ("dropped_links_count", 0),
                        ("resource_index", r), ("scope_index", s)):
        getattr(batch, name).append(value)
    batch.attributes.close_set()
    batch.event_offsets.append(0)
    batch.link_offsets.append(0)
    again = roundtrip(batch)
    assert again.resource_service_name == ["from-zipkin"]
    assert again.resource_attributes.set_items(0) == [("service.name", "from-zipkin", 0)]


@pytest.mark.skipif(not hasattr(SpanBatch, "compact"), reason="SpanBatch.compact not present")
def test_compacted_batches_encode_the_same():
    """The tail-sampling buffer packs columns into arrays; the encoder reads them alike."""
    batch, _ = make_batch()
    expected = encode_request(batch)
    packed, _ = make_batch()
    packed.trace_id[:] = batch.trace_id
    packed.span_id[:] = batch.span_id
    packed.parent_span_id[:] = batch.parent_span_id
    packed.link_trace_id[:] = batch.link_trace_id
    packed.link_span_id[:] = batch.link_span_id
    packed.start_ns[:] = batch.start_ns
    packed.end_ns[:] = batch.end_ns
    packed.event_time_ns[:] = batch.event_time_ns
    packed.compact()
    assert encode_request(packed) == expected
