"""``SpanBatch`` -> OTLP protobuf (``ExportTraceServiceRequest``): the inverse of ``otlp_proto``.

Used by the forwarding exporters (``otlp``, ``otlphttp``). Spans are grouped back under their
resource and scope (resources in order of first use, scopes in order of first use within their
resource); resources and scopes no span points at are left out. Attribute values come back from
the stored strings and type codes: an int is an ``int_value``, a double a ``double_value``, bytes
are ``bytes_value`` again, arrays and kvlists are rebuilt from their JSON.

Round trip: for a batch made by ``otlp_proto.decode_request``,
``decode_request(encode_request(batch)).batch == batch`` column for column. Inside arrays and
kvlists the stored JSON has already lost one distinction (bytes were stored as base64 strings),
so those elements come back as strings; their stored string is unchanged.

Not part of OTLP, so not encoded: ``adjusted_count`` and ``sampling_policy`` (Spanhouse's own
sampling columns).
"""

from __future__ import annotations

import base64
import math

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from spanhouse.model.attributes import ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING
from spanhouse.model.batch import AttrColumns, SpanBatch

_SPECIAL_DOUBLES = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def _set_raw(target: AnyValue, raw) -> None:
    """Fill an AnyValue from a JSON-decoded value (an element of a stored array or kvlist)."""
    if raw is None:
        return  # empty AnyValue
    if isinstance(raw, bool):
        target.bool_value = raw
    elif isinstance(raw, int):
        target.int_value = raw
    elif isinstance(raw, float):
        target.double_value = raw
    elif isinstance(raw, str):
        target.string_value = raw
    elif isinstance(raw, list):
        values = target.array_value.values
        target.array_value.SetInParent()  # an empty array is still an array
        for item in raw:
            _set_raw(values.add(), item)
    elif isinstance(raw, dict):
        values = target.kvlist_value.values
        target.kvlist_value.SetInParent()
        for key, item in raw.items():
            kv = values.add()
            kv.key = key
            _set_raw(kv.value, item)
    else:  # not produced by json_compact; keep the text rather than fail the batch
        target.string_value = str(raw)


def set_any(target: AnyValue, text: str, code: int) -> None:
    """Fill an AnyValue from a stored string and its type code (inverse of ``encode_any``)."""
    if code == STRING:
        target.string_value = text
    elif code == INT:
        target.int_value = int(text)
    elif code == BOOL:
        target.bool_value = text == "true"
    elif code == DOUBLE:
        special = _SPECIAL_DOUBLES.get(text)
        target.double_value = special if special is not None else float(text)
    elif code == BYTES:
        target.bytes_value = base64.b64decode(text)
    elif code == ARRAY:
        raw = orjson.loads(text)
        target.array_value.SetInParent()
        for item in raw:
            _set_raw(target.array_value.values.add(), item)
    elif code == KVLIST:
        raw = orjson.loads(text)
        target.kvlist_value.SetInParent()
        for key, item in raw.items():
            kv = target.kvlist_value.values.add()
            kv.key = key
            _set_raw(kv.value, item)
    elif code == EMPTY:
        pass
    else:  # an unknown code: the string is all we know
        target.string_value = text


def _fill_attributes(target, cols: AttrColumns, i: int) -> None:
    """Append attribute set ``i`` of ``cols`` to a repeated KeyValue field."""
    lo, hi = cols.offsets[i], cols.offsets[i + 1]
    keys, values, types = cols.keys, cols.values, cols.types
    for j in range(lo, hi):
        code = types[j]
        if code == STRING:  # the common case, inline
            target.append(KeyValue(key=keys[j], value=AnyValue(string_value=values[j])))
        else:
            kv = target.add()
            kv.key = keys[j]
            set_any(kv.value, values[j], code)


def _id(hex_id: str) -> bytes:
    return bytes.fromhex(hex_id) if hex_id else b""


def encode_request(batch: SpanBatch) -> ExportTraceServiceRequest:
    """The batch as one ``ExportTraceServiceRequest``."""
    b = batch
    request = ExportTraceServiceRequest()
    # resource -> scope -> span rows, each level in order of first appearance
    groups: dict[int, dict[int, list[int]]] = {}
    for row, (r, s) in enumerate(zip(b.resource_index, b.scope_index)):
        groups.setdefault(r, {}).setdefault(s, []).append(row)

    for r, scopes in groups.items():
        rs = request.resource_spans.add()
        resource = rs.resource
        _fill_attributes(resource.attributes, b.resource_attributes, r)
        service = b.resource_service_name[r]
        if service and not any(kv.key == "service.name" for kv in resource.attributes):
            resource.attributes.append(KeyValue(key="service.name",
                                                value=AnyValue(string_value=service)))
        resource.dropped_attributes_count = b.resource_dropped_attributes_count[r]
        for s, rows in scopes.items():
            ss = rs.scope_spans.add()
            ss.scope.name = b.scope_name[s]
            ss.scope.version = b.scope_version[s]
            spans = ss.spans
            for i in rows:
                span = spans.add()
                span.trace_id = _id(b.trace_id[i])
                span.span_id = _id(b.span_id[i])
                if b.parent_span_id[i]:
                    span.parent_span_id = _id(b.parent_span_id[i])
                span.trace_state = b.trace_state[i]
                span.flags = b.flags[i]
                span.name = b.name[i]
                span.kind = b.kind[i]
                span.start_time_unix_nano = b.start_ns[i]
                span.end_time_unix_nano = b.end_ns[i]
                if b.status_code[i] or b.status_message[i]:
                    span.status.code = b.status_code[i]
                    span.status.message = b.status_message[i]
                span.dropped_attributes_count = b.dropped_attributes_count[i]
                span.dropped_events_count = b.dropped_events_count[i]
                span.dropped_links_count = b.dropped_links_count[i]
                _fill_attributes(span.attributes, b.attributes, i)
                for e in range(b.event_offsets[i], b.event_offsets[i + 1]):
                    event = span.events.add()
                    event.time_unix_nano = b.event_time_ns[e]
                    event.name = b.event_name[e]
                    event.dropped_attributes_count = b.event_dropped_attributes_count[e]
                    _fill_attributes(event.attributes, b.event_attributes, e)
                for k in range(b.link_offsets[i], b.link_offsets[i + 1]):
                    link = span.links.add()
                    link.trace_id = _id(b.link_trace_id[k])
                    link.span_id = _id(b.link_span_id[k])
                    link.trace_state = b.link_trace_state[k]
                    link.flags = b.link_flags[k]
                    link.dropped_attributes_count = b.link_dropped_attributes_count[k]
                    _fill_attributes(link.attributes, b.link_attributes, k)
    return request


def encode_bytes(batch: SpanBatch) -> bytes:
    """The batch as a serialized ``ExportTraceServiceRequest`` (an OTLP/HTTP protobuf body)."""
    return encode_request(batch).SerializeToString()


__all__ = ["encode_request", "encode_bytes", "set_any"]
