"""OTLP/JSON (``ExportTraceServiceRequest`` in the protobuf JSON mapping) -> ``SpanBatch``.

The OTLP specification's JSON rules: ``traceId``/``spanId``/``parentSpanId`` are hex strings
(not base64 as in plain proto3 JSON); field names are lowerCamelCase and receivers MUST also
accept snake_case; enums are integers (enum names accepted too); 64-bit integers may be JSON
strings or numbers; ``bytesValue`` is base64; unknown fields are ignored.

A span whose fields have the wrong shape, or a number outside its field's range (see
``spanhouse.model.limits``: times, ``uint32`` flags and counters, ``int64`` ``intValue``), is
rejected alone; an out-of-range enum is kept as 0 (Unspecified / Unset). A resource with a bad
number (e.g. ``droppedAttributesCount: -1``) rejects each of its spans. An attribute value with
``arrayValue``/``kvlistValue`` nested more than ``MAX_VALUE_DEPTH`` levels rejects its span (its
resource's spans, for a resource attribute) the same way. Only a body that is not JSON (orjson
refuses nesting beyond 1024), or not an object with a ``resourceSpans`` list, fails the whole
request.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from spanhouse.errors import InvalidInput
from spanhouse.model.attributes import (
    ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING,
    encode_bytes, format_double, json_compact,
)
from spanhouse.model.batch import DecodeResult, SpanBatch
from spanhouse.model.limits import (
    ENUM_MAX, ENUM_MIN, INT64_MAX, INT64_MIN, MAX_TIME_NS, MAX_VALUE_DEPTH, UINT32_MAX,
    bad_time, out_of_range, quoted, too_deep,
)

_KINDS = {f"SPAN_KIND_{k}": i for i, k in enumerate(
    ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"))}
_STATUS = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


_NESTED = "a value nested too deep"


class _BadSpan(ValueError):
    """A field of one span is invalid: the span is rejected, the request goes on."""


class _BeyondLimit(_BadSpan):
    """A value beyond one of ``spanhouse.model.limits``' bounds (a resource with one rejects
    its spans, not the request)."""


class _BadNumber(_BeyondLimit):
    """A number that is not an integer, or out of its field's range."""


class _TooDeep(_BeyondLimit):
    """``arrayValue``/``kvlistValue`` nested more than ``MAX_VALUE_DEPTH`` levels."""


def _f(obj: dict, camel: str, snake: str, default=None):
    value = obj.get(camel)
    if value is None:
        value = obj.get(snake, default)
    return default if value is None else value


def _int(value, what: str) -> int:
    if isinstance(value, bool):
        raise _BadNumber(f"{what} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _BadNumber(f"{what} must be an integer or a string of digits, not {quoted(value)}")


def _uint32(value, what: str) -> int:
    number = _int(value, what)
    if 0 <= number <= UINT32_MAX:
        return number
    raise _BadNumber(out_of_range(what, number, 0, UINT32_MAX))


def _time(value, what: str) -> int:
    number = _int(value, what)
    if 0 <= number < MAX_TIME_NS:
        return number
    raise _BadNumber(bad_time(what, number))


def _double(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _BadSpan(f"doubleValue must be a number, not {quoted(value)}")


def _enum(value, names: dict, what: str) -> int:
    """An enum name or integer; an integer no protobuf enum (int32) can hold is kept as 0."""
    if isinstance(value, str) and value in names:
        return names[value]
    number = _int(value, what)
    return number if ENUM_MIN <= number <= ENUM_MAX else 0


def _hex_id(value, size: int, what: str, allow_empty: bool) -> str:
    if value in (None, "") and allow_empty:
        return ""
    if not isinstance(value, str) or len(value) != 2 * size:
        raise _BadSpan(f"{what} must be {2 * size} hex characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise _BadSpan(f"{what} must be hex") from None
    if raw == bytes(size):
        if allow_empty:
            return ""
        raise _BadSpan(f"{what} must not be all zero")
    return value.lower()


def _raw(value: dict, level: int = 0):
    """An AnyValue as (plain value, type code); ``level``: the arrays/kvlists around it."""
    if not isinstance(value, dict):
        raise _BadSpan("an AnyValue must be an object")
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value"),
                         ("intValue", "int_value"), ("doubleValue", "double_value"),
                         ("bytesValue", "bytes_value"), ("arrayValue", "array_value"),
                         ("kvlistValue", "kvlist_value")):
        v = value.get(camel, value.get(snake))
        if v is None:
            continue
        if camel == "stringValue":
            return str(v), STRING
        if camel == "boolValue":
            return bool(v), BOOL
        if camel == "intValue":
            number = _int(v, "intValue")
            if not INT64_MIN <= number <= INT64_MAX:
                raise _BadNumber(out_of_range("intValue", number, INT64_MIN, INT64_MAX))
            return number, INT
        if camel == "doubleValue":
            return _double(v), DOUBLE
        if camel == "bytesValue":
            try:
                return base64.b64decode(v, validate=True), BYTES
            except (binascii.Error, TypeError):
                raise _BadSpan("bytesValue must be base64") from None
        if level >= MAX_VALUE_DEPTH:
            raise _TooDeep(too_deep())
        values = v.get("values") or []
        if not isinstance(values, list):
            raise _BadSpan(f"{camel}.values must be a list")
        if camel == "arrayValue":
            return [_plain(x, level + 1) for x in values], ARRAY
        out = {}
        for kv in values:
            if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
                raise _BadSpan("a kvlistValue entry must be an object with a string key")
            out[kv["key"]] = _plain(kv.get("value") or {}, level + 1)
        return out, KVLIST
    return None, EMPTY


def _plain(value: dict, level: int):
    raw, code = _raw(value, level)
    return encode_bytes(raw) if code == BYTES else raw


def _encode(value: dict) -> tuple[str, int]:
    raw, code = _raw(value)
    if code == STRING:
        return raw, STRING
    if code == BOOL:
        return ("true" if raw else "false"), BOOL
    if code == INT:
        return str(raw), INT
    if code == DOUBLE:
        return format_double(raw), DOUBLE
    if code == BYTES:
        return encode_bytes(raw), BYTES
    if code in (ARRAY, KVLIST):
        return json_compact(raw), code
    return "", EMPTY


def _attrs(items, what: str = "attribute") -> list[tuple[str, str, int]]:
    if not items:
        return []
    if not isinstance(items, list):
        raise _BadSpan("attributes must be a list of {key, value}")
    out = []
    for kv in items:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise _BadSpan("an attribute must be an object with a string key")
        try:
            text, code = _encode(kv.get("value") or {})
        except _BeyondLimit as exc:
            raise type(exc)(f"{what} {quoted(kv['key'])}: {exc}") from None
        out.append((kv["key"], text, code))
    return out


def _add(cols, items) -> None:
    for key, value, code in items:
        cols.add(key, value, code)
    cols.close_set()


def _decode_span(span: dict) -> tuple:
    """Everything of one span, validated, before anything is appended to the batch."""
    if not isinstance(span, dict):
        raise _BadSpan("a span must be an object")
    trace_id = _hex_id(_f(span, "traceId", "trace_id"), 16, "traceId", False)
    span_id = _hex_id(_f(span, "spanId", "span_id"), 8, "spanId", False)
    parent = _hex_id(_f(span, "parentSpanId", "parent_span_id"), 8, "parentSpanId", True)
    status = _f(span, "status", "status", {}) or {}
    if not isinstance(status, dict):
        raise _BadSpan("status must be an object")
    events = []
    for i, event in enumerate(_f(span, "events", "events", []) or []):
        if not isinstance(event, dict):
            raise _BadSpan("an event must be an object")
        what = f"events[{i}]"
        events.append((_time(_f(event, "timeUnixNano", "time_unix_nano", 0), f"{what}.timeUnixNano"),
                       str(event.get("name", "")),
                       _uint32(_f(event, "droppedAttributesCount", "dropped_attributes_count", 0),
                               f"{what}.droppedAttributesCount"),
                       _attrs(event.get("attributes"), f"{what} attribute")))
    links = []
    for i, link in enumerate(_f(span, "links", "links", []) or []):
        if not isinstance(link, dict):
            raise _BadSpan("a link must be an object")
        what = f"links[{i}]"
        links.append((_hex_id(_f(link, "traceId", "trace_id"), 16, "link traceId", False),
                       _hex_id(_f(link, "spanId", "span_id"), 8, "link spanId", False),
                       str(_f(link, "traceState", "trace_state", "")),
                       _uint32(_f(link, "flags", "flags", 0), f"{what}.flags"),
                       _uint32(_f(link, "droppedAttributesCount", "dropped_attributes_count", 0),
                               f"{what}.droppedAttributesCount"),
                       _attrs(link.get("attributes"), f"{what} attribute")))
    return (
        trace_id, span_id, parent, str(_f(span, "traceState", "trace_state", "")),
        _uint32(_f(span, "flags", "flags", 0), "flags"), str(span.get("name", "")),
        _enum(span.get("kind", 0), _KINDS, "kind"),
        _time(_f(span, "startTimeUnixNano", "start_time_unix_nano", 0), "startTimeUnixNano"),
        _time(_f(span, "endTimeUnixNano", "end_time_unix_nano", 0), "endTimeUnixNano"),
        _enum(status.get("code", 0), _STATUS, "status.code"), str(status.get("message", "")),
        _uint32(_f(span, "droppedAttributesCount", "dropped_attributes_count", 0), "droppedAttributesCount"),
        _uint32(_f(span, "droppedEventsCount", "dropped_events_count", 0), "droppedEventsCount"),
        _uint32(_f(span, "droppedLinksCount", "dropped_links_count", 0), "droppedLinksCount"),
        _attrs(span.get("attributes")), events, links,
    )


def load_json(body: bytes):
    """A JSON request body; ``InvalidInput`` when it is not JSON (both JSON decoders)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


def span_label(span) -> str:
    """``span 'name'`` for a rejection message (the name cut short), or ``span`` alone."""
    name = span.get("name") if isinstance(span, dict) else None
    return f"span {quoted(name)}" if isinstance(name, str) else "span"


def decode_json_bytes(body: bytes) -> DecodeResult:
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise InvalidInput("an OTLP/JSON request must be an object with resourceSpans")
    resource_spans = _f(doc, "resourceSpans", "resource_spans", [])
    if not isinstance(resource_spans, list):
        raise InvalidInput("resourceSpans must be a list")

    batch = SpanBatch()
    result = DecodeResult(batch)
    for rs in resource_spans:
        bad_resource = ""  # why every span of this resource is rejected
        try:
            if not isinstance(rs, dict):
                raise _BadSpan("resourceSpans entries must be objects")
            resource = rs.get("resource") or {}
            try:
                res_attrs = _attrs(resource.get("attributes"), "resource attribute")
                res_dropped = _uint32(_f(resource, "droppedAttributesCount", "dropped_attributes_count",
                                         0), "resource droppedAttributesCount")
            except _BeyondLimit as exc:
                res_attrs, res_dropped, bad_resource = [], 0, str(exc)
            except RecursionError:
                res_attrs, res_dropped, bad_resource = [], 0, _NESTED
            scope_spans = _f(rs, "scopeSpans", "scope_spans", []) or []
            if not isinstance(scope_spans, list):
                raise _BadSpan("scopeSpans must be a list")
        except (_BadSpan, AttributeError, TypeError, KeyError, ValueError) as exc:
            raise InvalidInput(f"invalid resourceSpans entry: {exc}") from None
        if not bad_resource:
            service = next((v for k, v, c in res_attrs if k == "service.name" and c == STRING), "")
            r = batch.add_resource(service, res_dropped)
            _add(batch.resource_attributes, res_attrs)
        for ss in scope_spans:
            if not isinstance(ss, dict):
                raise InvalidInput("scopeSpans entries must be objects")
            spans = ss.get("spans") or []
            if not isinstance(spans, list):
                raise InvalidInput("spans must be a list")
            if bad_resource:
                for span in spans:
                    result.reject(f"{span_label(span)} rejected: {bad_resource}")
                continue
            scope = ss.get("scope") or {}
            try:
                s = batch.add_scope(str(scope.get("name", "")), str(scope.get("version", "")))
            except (AttributeError, RecursionError):
                raise InvalidInput("a scope must be an object with a name and a version") from None
            for span in spans:
                try:
                    fields = _decode_span(span)
                except (_BadSpan, AttributeError, TypeError, KeyError, ValueError) as exc:
                    result.reject(f"{span_label(span)} rejected: {exc}")
                    continue
                except RecursionError:  # e.g. str() of a name that is a list 1000 deep
                    result.reject(f"{span_label(span)} rejected: {_NESTED}")
                    continue
                _append(batch, fields, r, s)
    return result


def _append(b: SpanBatch, fields: tuple, r: int, s: int) -> None:
    (trace_id, span_id, parent, trace_state, flags, name, kind, start, end, code, message,
     d_attrs, d_events, d_links, attrs, events, links) = fields
    b.trace_id.append(trace_id)
    b.span_id.append(span_id)
    b.parent_span_id.append(parent)
    b.trace_state.append(trace_state)
    b.flags.append(flags)
    b.name.append(name)
    b.kind.append(kind)
    b.start_ns.append(start)
    b.end_ns.append(end)
    b.status_code.append(code)
    b.status_message.append(message)
    b.dropped_attributes_count.append(d_attrs)
    b.dropped_events_count.append(d_events)
    b.dropped_links_count.append(d_links)
    b.resource_index.append(r)
    b.scope_index.append(s)
    _add(b.attributes, attrs)
    for time_ns, event_name, dropped, event_attrs in events:
        b.event_time_ns.append(time_ns)
        b.event_name.append(event_name)
        b.event_dropped_attributes_count.append(dropped)
        _add(b.event_attributes, event_attrs)
    b.event_offsets.append(len(b.event_name))
    for tid, sid, state, link_flags, dropped, link_attrs in links:
        b.link_trace_id.append(tid)
        b.link_span_id.append(sid)
        b.link_trace_state.append(state)
        b.link_flags.append(link_flags)
        b.link_dropped_attributes_count.append(dropped)
        _add(b.link_attributes, link_attrs)
    b.link_offsets.append(len(b.link_span_id))


