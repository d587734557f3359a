"""OTLP protobuf (``ExportTraceServiceRequest``) -> ``SpanBatch``.

Hot path: one pass over the upb message, appending to column lists with bound ``append``
methods; resources and scopes are decoded once per request.

Range checks (``spanhouse.model.limits``): protobuf's own types already bound the ``uint32``
flags and counters and the ``int64`` attribute values, so only the ``fixed64`` times are
checked: a span whose start, end or event time is not before ``MAX_TIME_NS`` is rejected alone.
Nesting is bounded by the parser (``limits.PROTOBUF_MAX_DEPTH``): a span nested deeper is
rejected alone (``parse_request``), not the whole request.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanhouse.errors import InvalidInput
from spanhouse.model.attributes import (
    ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING,
    encode_bytes, format_double, json_compact,
)
from spanhouse.model.batch import AttrColumns, DecodeResult, SpanBatch
from spanhouse.model.limits import MAX_TIME_NS, bad_time, quoted
from spanhouse.model.proto_salvage import salvage

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


def _raw(value):
    """An AnyValue as a plain Python value, for JSON encoding of arrays and kvlists."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bytes_value":
        return encode_bytes(value.bytes_value)
    if which == "array_value":
        return [_raw(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _raw(kv.value) for kv in value.kvlist_value.values}
    return None


def encode_any(value) -> tuple[str, int]:
    """An AnyValue as (stored string, type code)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value, STRING
    if which == "int_value":
        return str(value.int_value), INT
    if which == "bool_value":
        return ("true" if value.bool_value else "false"), BOOL
    if which == "double_value":
        return format_double(value.double_value), DOUBLE
    if which == "bytes_value":
        return encode_bytes(value.bytes_value), BYTES
    if which == "array_value":
        return json_compact([_raw(v) for v in value.array_value.values]), ARRAY
    if which == "kvlist_value":
        return json_compact({kv.key: _raw(kv.value) for kv in value.kvlist_value.values}), KVLIST
    return "", EMPTY


def add_attributes(cols: AttrColumns, key_values) -> None:
    keys, values, types = cols.keys.append, cols.values.append, cols.types.append
    for kv in key_values:
        value = kv.value
        if value.WhichOneof("value") == "string_value":  # the common case, inline
            keys(kv.key)
            values(value.string_value)
            types(STRING)
        else:
            text, code = encode_any(value)
            keys(kv.key)
            values(text)
            types(code)
    cols.close_set()


def _bad_times(span) -> str:
    """Why a span with a time >= MAX_TIME_NS is rejected (the slow path, off the hot loop)."""
    if span.start_time_unix_nano >= MAX_TIME_NS:
        return bad_time("startTimeUnixNano", span.start_time_unix_nano)
    if span.end_time_unix_nano >= MAX_TIME_NS:
        return bad_time("endTimeUnixNano", span.end_time_unix_nano)
    for i, event in enumerate(span.events):
        if event.time_unix_nano >= MAX_TIME_NS:
            return bad_time(f"events[{i}].timeUnixNano", event.time_unix_nano)
    return ""


def span_problem(span, max_time: int = MAX_TIME_NS) -> str:
    """Why ``span`` must be rejected alone ("" when it is fine): an id of the wrong length or
    all zero, or a time ClickHouse cannot hold. The one place these rules live: the decoder and
    the receivers' quick check (``check_request``) both ask it."""
    tid, sid, pid = span.trace_id, span.span_id, span.parent_span_id
    if len(tid) != 16 or tid == _ZERO_TRACE:
        return f"span {quoted(span.name)}: trace id must be 16 bytes and not all zero"
    if len(sid) != 8 or sid == _ZERO_SPAN:
        return f"span {quoted(span.name)}: span id must be 8 bytes and not all zero"
    if pid and len(pid) != 8:
        return f"span {quoted(span.name)}: parent span id must be empty or 8 bytes"
    events = span.events
    if span.start_time_unix_nano >= max_time or span.end_time_unix_nano >= max_time or (
            events and any(e.time_unix_nano >= max_time for e in events)):
        return f"span {quoted(span.name)}: {_bad_times(span)}"
    return ""


def parse_request(body: bytes) -> tuple[ExportTraceServiceRequest, list[str]]:
    """The parsed request, and the messages of the spans rejected while parsing: none, unless
    the parser refused the request for its depth (``limits.PROTOBUF_MAX_DEPTH``); then the
    spans that parse are kept and the others rejected alone (``proto_salvage``). Any other
    parse failure is an ``InvalidInput``, the request refused whole."""
    msg = ExportTraceServiceRequest()
    try:
        msg.ParseFromString(body)
        return msg, []
    except (DecodeError, ValueError, RuntimeError) as exc:
        error = exc
    salvaged = salvage(body) if "depth" in str(error).lower() else None
    if salvaged is not None:
        kept, rejected = salvaged
        msg = ExportTraceServiceRequest()
        try:
            msg.ParseFromString(kept)
            return msg, rejected
        except (DecodeError, ValueError, RuntimeError):
            pass
    raise InvalidInput(f"request body is not a valid ExportTraceServiceRequest: {error}") from None


def check_request(body: bytes) -> tuple[bytes, int, DecodeResult]:
    """The receivers' quick look at an OTLP protobuf request: parse it (in C) and check every
    span's ids and times (``span_problem``) without decoding attributes. Returns the request's
    bytes with the rejected spans removed (``body`` itself when none was), the number of spans
    kept, and a ``DecodeResult`` (empty batch) carrying the rejections. Decoding the returned
    bytes rejects nothing."""
    msg, problems = parse_request(body)
    result = DecodeResult(SpanBatch())
    for problem in problems:
        result.reject(problem)
    kept = 0
    for rs in msg.resource_spans:
        for ss in rs.scope_spans:
            spans = ss.spans
            bad = []
            for i, span in enumerate(spans):
                problem = span_problem(span)
                if problem:
                    result.reject(problem)
                    bad.append(i)
            for i in reversed(bad):
                del spans[i]
            kept += len(spans)
    if not result.rejected:
        return body, kept, result
    return msg.SerializeToString(), kept, result


def decode_request(msg: ExportTraceServiceRequest) -> DecodeResult:
    batch = SpanBatch()
    result = DecodeResult(batch)
    b = batch
    trace_id, span_id, parent_id = b.trace_id.append, b.span_id.append, b.parent_span_id.append
    trace_state, flags, name, kind = b.trace_state.append, b.flags.append, b.name.append, b.kind.append
    start, end = b.start_ns.append, b.end_ns.append
    status_code, status_message = b.status_code.append, b.status_message.append
    d_attrs, d_events, d_links = (b.dropped_attributes_count.append, b.dropped_events_count.append,
                                  b.dropped_links_count.append)
    res_idx, scope_idx = b.resource_index.append, b.scope_index.append
    span_attrs = b.attributes
    ev_off, ln_off = b.event_offsets.append, b.link_offsets.append

    for rs in msg.resource_spans:
        resource = rs.resource
        service = ""
        for kv in resource.attributes:
            if kv.key == "service.name":
                service = kv.value.string_value
                break
        r = batch.add_resource(service, resource.dropped_attributes_count)
        add_attributes(batch.resource_attributes, resource.attributes)
        for ss in rs.scope_spans:
            s = batch.add_scope(ss.scope.name, ss.scope.version)
            for span in ss.spans:
                problem = span_problem(span)
                if problem:
                    result.reject(problem)
                    continue
                tid, sid, pid = span.trace_id, span.span_id, span.parent_span_id
                t0, t1, events = span.start_time_unix_nano, span.end_time_unix_nano, span.events
                trace_id(tid.hex())
                span_id(sid.hex())
                parent_id("" if not pid or pid == _ZERO_SPAN else pid.hex())
                trace_state(span.trace_state)
                flags(span.flags)
                name(span.name)
                kind(span.kind)
                start(t0)
                end(t1)
                status = span.status
                status_code(status.code)
                status_message(status.message)
                d_attrs(span.dropped_attributes_count)
                d_events(span.dropped_events_count)
                d_links(span.dropped_links_count)
                res_idx(r)
                scope_idx(s)
                add_attributes(span_attrs, span.attributes)
                if events:
                    for event in events:
                        b.event_time_ns.append(event.time_unix_nano)
                        b.event_name.append(event.name)
                        b.event_dropped_attributes_count.append(event.dropped_attributes_count)
                        add_attributes(b.event_attributes, event.attributes)
                ev_off(len(b.event_name))
                if span.links:
                    for link in span.links:
                        b.link_trace_id.append(link.trace_id.hex())
                        b.link_span_id.append(link.span_id.hex())
                        b.link_trace_state.append(link.trace_state)
                        b.link_flags.append(link.flags)
                        b.link_dropped_attributes_count.append(link.dropped_attributes_count)
                        add_attributes(b.link_attributes, link.attributes)
                ln_off(len(b.link_span_id))
    return result


def decode_proto_bytes(body: bytes) -> DecodeResult:
    msg, problems = parse_request(body)
    result = decode_request(msg)
    for problem in problems:
        result.reject(problem)
    return result
