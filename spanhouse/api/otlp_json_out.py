"""SpanRecords -> OTLP/JSON ``TracesData`` (``{"resourceSpans": [...]}``), for Jaeger's api_v3.

Jaeger's api_v3 HTTP gateway answers with ``{"result": TracesData}`` written by the
collector's pdata JSON marshaler (jaegertracing/jaeger ``internal/jptrace``; snapshots
``cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/snapshots/GetTrace.json``). Its
rules, followed here:

- OTLP/JSON: lowerCamelCase names; ``traceId``/``spanId``/``parentSpanId`` as lower-case hex;
  ``kind`` and ``status.code`` as enum integers; 64-bit integers (``startTimeUnixNano``,
  ``endTimeUnixNano``, event ``timeUnixNano``, ``intValue``) as JSON strings; ``bytesValue``
  as base64; ``doubleValue`` a JSON number (``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as
  strings, per proto3 JSON);
- proto3 defaults are omitted (empty strings and lists, zero numbers, zero ids), except that
  ``resource``, ``scope`` and ``status`` are always written (``{}`` when empty), as pdata does;
- a ``resourceSpans`` element per resource, a ``scopeSpans`` element per scope (name,
  version) within it, spans in the given order.

Resource identity is the record's resource attributes (plus its service name); a record whose
resource attributes lack ``service.name`` gets it from ``service_name`` (first). Attribute
values are typed as stored: ``str`` -> ``stringValue``, ``bool`` -> ``boolValue``, ``int`` ->
``intValue``, ``float`` -> ``doubleValue``, ``bytes`` -> ``bytesValue``, ``list`` ->
``arrayValue``, ``dict`` -> ``kvlistValue``, ``None`` -> ``{}`` (empty). Elements of stored
arrays and maps come back from their JSON (a ``bytes`` element was stored as its base64 string,
so it is a ``stringValue`` here).
"""

from __future__ import annotations

import base64
import math
from typing import Any, Iterable, Mapping

from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord

ATTR_SERVICE_NAME = "service.name"


def _hex_id(value: str, digits: int) -> str:
    """Lower-case hex, left-padded; "" for an absent or all-zero id (omitted)."""
    value = (value or "").lower()
    if not value.strip("0"):
        return ""
    return value.rjust(digits, "0")


def json_double(value: float):
    """A double as protobuf's JSON writes it: NaN and the infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def any_value(value: Any) -> dict:
    """One OTLP/JSON ``AnyValue`` for a typed Python value."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": json_double(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        values = [any_value(v) for v in value]
        return {"arrayValue": {"values": values} if values else {}}
    if isinstance(value, Mapping):
        values = key_values(value)
        return {"kvlistValue": {"values": values} if values else {}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict]:
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def _put(out: dict, key: str, value) -> None:
    """Write ``value`` unless it is a proto3 default ("", 0, empty list)."""
    if value:
        out[key] = value


def event_json(event: EventRecord) -> dict:
    out: dict = {}
    if event.time_ns:
        out["timeUnixNano"] = str(event.time_ns)
    _put(out, "name", event.name)
    _put(out, "attributes", key_values(event.attributes))
    _put(out, "droppedAttributesCount", event.dropped_attributes_count)
    return out


def link_json(link: LinkRecord) -> dict:
    out: dict = {}
    _put(out, "traceId", _hex_id(link.trace_id, 32))
    _put(out, "spanId", _hex_id(link.span_id, 16))
    _put(out, "traceState", link.trace_state)
    _put(out, "attributes", key_values(link.attributes))
    _put(out, "droppedAttributesCount", link.dropped_attributes_count)
    _put(out, "flags", link.flags)
    return out


def span_json(span: SpanRecord) -> dict:
    """One OTLP/JSON ``Span`` (fields in the proto's order)."""
    out: dict = {}
    _put(out, "traceId", _hex_id(span.trace_id, 32))
    _put(out, "spanId", _hex_id(span.span_id, 16))
    _put(out, "traceState", span.trace_state)
    _put(out, "parentSpanId", _hex_id(span.parent_span_id, 16))
    _put(out, "flags", span.flags)
    _put(out, "name", span.name)
    _put(out, "kind", span.kind)
    if span.start_ns:
        out["startTimeUnixNano"] = str(span.start_ns)
    end = span.start_ns + max(span.duration_ns, 0)
    if end:
        out["endTimeUnixNano"] = str(end)
    _put(out, "attributes", key_values(span.attributes))
    _put(out, "droppedAttributesCount", span.dropped_attributes_count)
    _put(out, "events", [event_json(e) for e in span.events])
    _put(out, "droppedEventsCount", span.dropped_events_count)
    _put(out, "links", [link_json(link) for link in span.links])
    _put(out, "droppedLinksCount", span.dropped_links_count)
    status: dict = {}
    _put(status, "message", span.status_message)
    _put(status, "code", span.status_code)
    out["status"] = status
    return out


def resource_attributes(span: SpanRecord) -> dict[str, Any]:
    attrs = dict(span.resource_attributes)
    if ATTR_SERVICE_NAME not in attrs and span.service_name:
        attrs = {ATTR_SERVICE_NAME: span.service_name, **attrs}
    return attrs


def _freeze(value: Any):
    if isinstance(value, Mapping):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("__list__",) + tuple(_freeze(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return ("__nan__",)
    return (type(value).__name__, value if not isinstance(value, memoryview) else bytes(value))


def resource_spans(spans: Iterable[SpanRecord]) -> list[dict]:
    """The ``resourceSpans`` of some spans: grouped by resource, then by scope, in order of
    first appearance."""
    resources: dict[tuple, tuple[dict, dict[tuple, list]]] = {}
    for span in spans:
        attrs = resource_attributes(span)
        r_key = _freeze(attrs)
        entry = resources.get(r_key)
        if entry is None:
            resource: dict = {}
            _put(resource, "attributes", key_values(attrs))
            entry = resources[r_key] = (resource, {})
        scopes = entry[1]
        s_key = (span.scope_name, span.scope_version)
        scopes.setdefault(s_key, []).append(span_json(span))
    out = []
    for resource, scopes in resources.values():
        scope_spans = []
        for (name, version), span_list in scopes.items():
            scope: dict = {}
            _put(scope, "name", name)
            _put(scope, "version", version)
            scope_spans.append({"scope": scope, "spans": span_list})
        out.append({"resource": resource, "scopeSpans": scope_spans})
    return out


def traces_data(traces: Iterable[Iterable[SpanRecord]]) -> dict:
    """``TracesData`` for several traces: each trace's resourceSpans one after the other, as
    Jaeger's gateway concatenates them (a resource shared by two traces appears twice)."""
    out: list[dict] = []
    for trace in traces:
        out.extend(resource_spans(trace))
    return {"resourceSpans": out}
