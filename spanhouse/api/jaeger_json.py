"""Spans -> Jaeger's classic JSON (the ``/api/traces`` responses the Jaeger UI reads).

Two upstream steps, reproduced in one:

1. OTLP -> Jaeger model, as the collector's translator does it
   (open-telemetry/opentelemetry-collector-contrib, ``pkg/translator/jaeger/
   traces_to_jaegerproto.go``, with ``constants.go`` and ``internal/coreinternal/
   tracetranslator``):

   - process: ``serviceName`` from ``service.name``; the other resource attributes are the
     process tags; a resource without attributes gets ``OTLPResourceNoServiceName``;
   - span tags, in this order: ``otel.scope.name``, ``otel.scope.version`` (when not empty),
     the span attributes, ``span.kind`` (``client``/``server``/``producer``/``consumer``/
     ``internal``; none for unspecified), ``otel.status_code`` (``OK``/``ERROR``; none for
     unset), ``error=true`` (bool, for ERROR), ``otel.status_description`` (when the message
     is not empty), ``w3c.tracestate`` (when not empty);
   - attribute types: string -> ``string``, int -> ``int64``, double -> ``float64``, bool ->
     ``bool``, bytes -> ``binary``, array and map -> ``string`` holding their JSON
     (``AsString``), empty -> ``string`` ``""``;
   - references: the parent first as ``CHILD_OF``, then one per link, ``FOLLOWS_FROM`` unless
     the link's ``opentracing.ref_type`` attribute is ``child_of``; a link to the parent itself
     only sets the type of that first reference. Link attributes are not carried;
   - logs: one per event; field ``event`` = the event name first (unless the name is empty or
     an ``event`` attribute exists), then the event attributes;
   - flags: the sampled bit (0x01) of the OTLP span flags.

2. Jaeger model -> JSON, as Jaeger's ``model/converter/json/from_domain.go`` and
   ``process_hashtable.go`` do it (jaegertracing/jaeger):

   - ids as ``TraceID.String()``/``SpanID.String()``: 16 hex digits for a trace id whose high
     64 bits are zero, else 32; span ids 16;
   - ``startTime``/``duration``/log ``timestamp`` in microseconds (truncated);
   - tag ``type`` lowercase; int64 values outside JavaScript's safe range (±(2^53-1)) are
     written as strings; binary values as base64;
   - processes de-duplicated by (service name, tags), keys ``p1``, ``p2``, ... in order of
     first use;
   - ``flags`` is omitted when 0 (``omitempty``); ``warnings`` is null.

Jaeger's query-time adjusters (clock skew, tag sorting, ...) are not applied.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Iterable

from spanhouse.model.attributes import format_double, json_compact
from spanhouse.model.enums import SAMPLED_FLAG, SPAN_KINDS, SpanKind, StatusCode
from spanhouse.model.span import SpanRecord

# tracetranslator constants
TAG_SPAN_KIND = "span.kind"
TAG_ERROR = "error"
TAG_W3C_TRACESTATE = "w3c.tracestate"
RESOURCE_NO_SERVICE_NAME = "OTLPResourceNoServiceName"
# semconv constants
TAG_STATUS_CODE = "otel.status_code"
TAG_STATUS_DESCRIPTION = "otel.status_description"
TAG_SCOPE_NAME = "otel.scope.name"
TAG_SCOPE_VERSION = "otel.scope.version"
ATTR_SERVICE_NAME = "service.name"
ATTR_REF_TYPE = "opentracing.ref_type"
REF_TYPE_CHILD_OF = "child_of"
# constants.go
EVENT_NAME_FIELD = "event"
STATUS_OK, STATUS_ERROR = "OK", "ERROR"

# OTLP SpanKind -> OpenTracing span.kind, its name in lower case (unspecified writes no tag)
SPAN_KIND_TAGS = {kind: SPAN_KINDS[kind].lower() for kind in SpanKind
                  if kind != SpanKind.UNSPECIFIED}
# OTLP StatusCode -> otel.status_code (unset writes no tag)
STATUS_CODE_TAGS = {StatusCode.OK: STATUS_OK, StatusCode.ERROR: STATUS_ERROR}

CHILD_OF, FOLLOWS_FROM = "CHILD_OF", "FOLLOWS_FROM"
JS_MAX_SAFE_INTEGER = (1 << 53) - 1


def jaeger_trace_id(trace_id: str) -> str:
    """Jaeger's ``TraceID.String()`` of a 32-hex-digit id: the low 16 digits alone when the
    high 64 bits are zero."""
    trace_id = trace_id.lower()
    if len(trace_id) == 32 and trace_id[:16] == "0" * 16:
        return trace_id[16:]
    return trace_id


def jaeger_span_id(span_id: str) -> str:
    return span_id.lower()


def _is_zero_id(value: str) -> bool:
    return not value or not value.strip("0")


def key_value(key: str, value: Any) -> dict:
    """One Jaeger JSON ``{"key", "type", "value"}`` for a typed attribute value."""
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        if -JS_MAX_SAFE_INTEGER <= value <= JS_MAX_SAFE_INTEGER:
            return {"key": key, "type": "int64", "value": value}
        return {"key": key, "type": "int64", "value": str(value)}
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):  # JSON has no such number
            return {"key": key, "type": "float64", "value": format_double(value)}
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"key": key, "type": "binary", "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple, dict)):
        return {"key": key, "type": "string", "value": json_compact(value)}
    if value is None:
        return {"key": key, "type": "string", "value": ""}
    return {"key": key, "type": "string", "value": str(value)}


def _string_tag(key: str, value: str) -> dict:
    return {"key": key, "type": "string", "value": value}


def span_tags(span: SpanRecord) -> list[dict]:
    """The span's tags in the translator's order."""
    tags = []
    if span.scope_name:
        tags.append(_string_tag(TAG_SCOPE_NAME, span.scope_name))
    if span.scope_version:
        tags.append(_string_tag(TAG_SCOPE_VERSION, span.scope_version))
    tags.extend(key_value(k, v) for k, v in span.attributes.items())
    kind = SPAN_KIND_TAGS.get(span.kind)
    if kind:
        tags.append(_string_tag(TAG_SPAN_KIND, kind))
    status = STATUS_CODE_TAGS.get(span.status_code)
    if status:
        tags.append(_string_tag(TAG_STATUS_CODE, status))
    if span.status_code == StatusCode.ERROR:
        tags.append({"key": TAG_ERROR, "type": "bool", "value": True})
    if span.status_message:
        tags.append(_string_tag(TAG_STATUS_DESCRIPTION, span.status_message))
    if span.trace_state:
        tags.append(_string_tag(TAG_W3C_TRACESTATE, span.trace_state))
    return tags


def references(span: SpanRecord) -> list[dict]:
    """Parent first (``CHILD_OF``), then links (``FOLLOWS_FROM`` unless tagged child_of)."""
    trace_id = jaeger_trace_id(span.trace_id)
    refs = []
    has_parent = not _is_zero_id(span.parent_span_id)
    parent = jaeger_span_id(span.parent_span_id) if has_parent else ""
    if has_parent:
        refs.append({"refType": CHILD_OF, "traceID": trace_id, "spanID": parent})
    for link in span.links:
        ref_type = CHILD_OF if link.attributes.get(ATTR_REF_TYPE) == REF_TYPE_CHILD_OF else FOLLOWS_FROM
        link_trace, link_span = jaeger_trace_id(link.trace_id), jaeger_span_id(link.span_id)
        if has_parent and link_trace == trace_id and link_span == parent:
            refs[0]["refType"] = ref_type  # a link to the parent only types that reference
            continue
        refs.append({"refType": ref_type, "traceID": link_trace, "spanID": link_span})
    return refs


def logs(span: SpanRecord) -> list[dict]:
    out = []
    for event in span.events:
        fields = []
        if event.name and EVENT_NAME_FIELD not in event.attributes:
            fields.append(_string_tag(EVENT_NAME_FIELD, event.name))
        fields.extend(key_value(k, v) for k, v in event.attributes.items())
        out.append({"timestamp": event.time_ns // 1000, "fields": fields})
    return out


def process_of(span: SpanRecord) -> dict:
    """The span's Jaeger process (from its resource)."""
    resource = span.resource_attributes
    if not resource:
        return {"serviceName": span.service_name or RESOURCE_NO_SERVICE_NAME, "tags": []}
    if ATTR_SERVICE_NAME in resource:
        service = resource[ATTR_SERVICE_NAME]
        service = service if isinstance(service, str) else str(service)
    else:
        service = span.service_name
    tags = [key_value(k, v) for k, v in resource.items() if k != ATTR_SERVICE_NAME]
    return {"serviceName": service, "tags": tags}


def _process_key(process: dict) -> tuple:
    return (process["serviceName"],
            tuple((t["key"], t["type"], repr(t["value"])) for t in process["tags"]))


def span_to_jaeger(span: SpanRecord, process_id: str) -> dict:
    out = {
        "traceID": jaeger_trace_id(span.trace_id),
        "spanID": jaeger_span_id(span.span_id),
        "operationName": span.name,
        "references": references(span),
        "startTime": span.start_ns // 1000,
        "duration": max(span.duration_ns, 0) // 1000,
        "tags": span_tags(span),
        "logs": logs(span),
        "processID": process_id,
        "warnings": None,
    }
    flags = span.flags & SAMPLED_FLAG
    if flags:  # json:"flags,omitempty"
        out["flags"] = flags
    return out


def trace_to_jaeger(spans: Iterable[SpanRecord]) -> dict:
    """One element of the ``data`` array of Jaeger's ``/api/traces`` responses: the trace's
    spans in the given order, and their processes de-duplicated as ``p1``, ``p2``, ..."""
    spans = list(spans)
    process_ids: dict[tuple, str] = {}
    processes: dict[str, dict] = {}
    out_spans = []
    for span in spans:
        process = process_of(span)
        key = _process_key(process)
        pid = process_ids.get(key)
        if pid is None:
            pid = process_ids[key] = f"p{len(process_ids) + 1}"
            processes[pid] = process
        out_spans.append(span_to_jaeger(span, pid))
    return {
        "traceID": jaeger_trace_id(spans[0].trace_id) if spans else "",
        "spans": out_spans,
        "processes": processes,
        "warnings": None,
    }


def envelope(data, total: int | None = None, errors: list | None = None,
             limit: int = 0, offset: int = 0) -> dict:
    """Jaeger's ``structuredResponse``: ``{"data", "total", "limit", "offset", "errors"}``.

    ``total`` defaults to 0, as Jaeger's ``GET /api/traces/{id}`` leaves it (its search sets
    it to the number of traces); ``errors`` is null or a list of ``{"code", "msg"}``.
    """
    return {
        "data": data,
        "total": 0 if total is None else total,
        "limit": limit,
        "offset": offset,
        "errors": errors if errors else None,
    }
