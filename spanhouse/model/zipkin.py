"""Zipkin v2 JSON -> ``SpanBatch``, mapped as the OpenTelemetry Collector's zipkin receiver maps
it (``pkg/translator/zipkin/zipkinv2/to_translator.go``, with ``parse_string_tags: false``):

- ``localEndpoint.serviceName`` -> resource ``service.name``; ipv4/ipv6 and port ->
  ``net.host.ip`` / ``net.host.port``; ``remoteEndpoint`` -> ``peer.service``, ``net.peer.ip``,
  ``net.peer.port``;
- ``kind`` CLIENT/SERVER/PRODUCER/CONSUMER -> the OTLP kind; absent -> Unspecified, or Internal
  when the ``span.kind`` tag says ``internal``;
- tags -> string attributes, except ``otel.status_code`` / ``otel.status_description`` (status),
  ``error`` (status Error; the tag is kept unless its value is ``true``), ``w3c.tracestate``,
  ``otel.library.name`` / ``otel.library.version`` (scope) and ``otlp.link.N`` (links);
- annotations -> events (``name|{json attributes}|dropped`` is split as upstream does);
- µs timestamps -> ns; a missing timestamp gives start 0 and ``otel.zipkin.absentField.startTime``;
- ``shared: true`` has no OTLP field; Spanhouse keeps it as the bool attribute ``zipkin.shared``.

Numbers are range-checked (``spanhouse.model.limits``) and a span with one out of range is
rejected alone: ``timestamp``, ``timestamp + duration`` and annotation timestamps must be, in
ns, in ``[0, MAX_TIME_NS)``; ``duration`` must not be negative; the dropped counts of annotation
and link payloads must fit ``uint32``; a port must fit 16 bits. A JSON number in an
annotation's attributes that is integral but outside ``int64`` is kept as a double, as
upstream's ``jsonMapToAttributeMap`` does.
"""

from __future__ import annotations

import orjson

from spanhouse.errors import InvalidInput
from spanhouse.model.attributes import BOOL, DOUBLE, INT, STRING, format_double, json_compact
from spanhouse.model.batch import DecodeResult, SpanBatch
from spanhouse.model.enums import STATUS_CODE_CODES, SpanKind
from spanhouse.model.otlp_json import load_json, span_label
from spanhouse.model.limits import (
    INT64_MAX, INT64_MIN, MAX_PORT, MAX_TIME_NS, UINT32_MAX, bad_time, out_of_range, quoted,
)

# Zipkin's kinds are OTLP's names; the status tag carries either stored spelling.
_KINDS = {name: int(SpanKind[name]) for name in ("CLIENT", "SERVER", "PRODUCER", "CONSUMER")}
_STATUS = STATUS_CODE_CODES
_SCOPE_TAGS = ("otel.library.name", "otel.library.version", "otel.scope.name", "otel.scope.version")


class _BadSpan(ValueError):
    pass


def _id(value, sizes: tuple[int, ...], what: str) -> str:
    if not isinstance(value, str) or len(value) not in sizes:
        raise _BadSpan(f"{what} must be {' or '.join(str(s) for s in sizes)} hex characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise _BadSpan(f"{what} must be hex") from None
    if not any(raw):
        raise _BadSpan(f"{what} must not be all zero")
    return value.lower().rjust(32 if 32 in sizes else 16, "0")


def _json_attrs(text: str) -> list[tuple[str, str, int]]:
    """Event/link attributes as upstream's jsonMapToAttributeMap reads them."""
    out = []
    for key, value in orjson.loads(text).items():
        if isinstance(value, bool):
            out.append((key, "true" if value else "false", BOOL))
        elif isinstance(value, (int, float)):
            if float(value).is_integer() and INT64_MIN <= value <= INT64_MAX:
                out.append((key, str(int(value)), INT))
            else:
                out.append((key, format_double(float(value)), DOUBLE))
        elif isinstance(value, str):
            out.append((key, value, STRING))
    return out


def _dropped(text: str, what: str) -> int:
    """The ``dropped`` count at the end of an annotation/link payload: a ``uint32``."""
    number = int(text)
    if not 0 <= number <= UINT32_MAX:
        raise _BadSpan(out_of_range(what, number, 0, UINT32_MAX))
    return number


def _split_payload(value: str, what: str) -> tuple[str, list, int]:
    """``name|{json}|dropped`` (the json may itself contain ``|``)."""
    parts = value.split("|")
    if len(parts) < 3:
        return parts[0], [], 0
    try:
        attrs = _json_attrs("|".join(parts[1:-1]))
        return parts[0], attrs, _dropped(parts[-1], f"{what} dropped attributes count")
    except _BadSpan:
        raise
    except (orjson.JSONDecodeError, ValueError, AttributeError):
        raise _BadSpan(f"annotation/link payload {quoted(value, 80)} is not name|json|dropped") from None


def _endpoint_attrs(span: dict) -> list[tuple[str, str, int]]:
    out = []
    local = span.get("localEndpoint") or {}
    remote = span.get("remoteEndpoint") or {}
    if not isinstance(local, dict) or not isinstance(remote, dict):
        raise _BadSpan("endpoints must be objects")
    for endpoint, ip_key, port_key in ((local, "net.host.ip", "net.host.port"),
                                       (remote, "net.peer.ip", "net.peer.port")):
        if endpoint is remote and endpoint.get("serviceName"):
            out.append(("peer.service", str(endpoint["serviceName"]), STRING))
        for ip in ("ipv4", "ipv6"):
            if endpoint.get(ip):
                out.append((ip_key, str(endpoint[ip]), STRING))
        port = endpoint.get("port")
        if isinstance(port, int) and not isinstance(port, bool) and port > 0:
            if port > MAX_PORT:
                side = "localEndpoint" if endpoint is local else "remoteEndpoint"
                raise _BadSpan(out_of_range(f"{side}.port", port, 0, MAX_PORT))
            out.append((port_key, str(port), INT))
    return out


def _decode_span(span: dict) -> tuple:
    if not isinstance(span, dict):
        raise _BadSpan("a span must be an object")
    trace_id = _id(span.get("traceId"), (16, 32), "traceId")
    span_id = _id(span.get("id"), (16,), "id")
    parent = span.get("parentId") or ""
    if parent:
        parent = _id(parent, (16,), "parentId")
        if parent == span_id:
            parent = ""
    tags = dict(span.get("tags") or {})
    if not all(isinstance(v, str) for v in tags.values()):
        tags = {k: v if isinstance(v, str) else json_compact(v) for k, v in tags.items()}
    trace_state = tags.pop("w3c.tracestate", "")
    kind = _KINDS.get(str(span.get("kind") or "").upper(), 0)
    if kind == 0 and tags.get("span.kind") is not None:
        if tags.pop("span.kind") == "internal":
            kind = 1
    code, message = 0, ""
    if "otel.status_code" in tags:
        code = _STATUS.get(tags.pop("otel.status_code"), 0)
        message = tags.pop("otel.status_description", "")
    if "error" in tags:
        # Zipkin's convention: the error tag's value is the error message. Upstream keeps such
        # a tag as an attribute; Spanhouse moves it to the status message, where readers (and
        # Jaeger's otel.status_description) look for it.
        code = 2
        value = tags.pop("error")
        if value != "true" and not message:
            message = value
    scope = (tags.pop("otel.library.name", None) or tags.pop("otel.scope.name", "") or "",
             tags.pop("otel.library.version", None) or tags.pop("otel.scope.version", "") or "")
    for key in _SCOPE_TAGS:
        tags.pop(key, None)
    links = []
    for i in range(128):
        value = tags.pop(f"otlp.link.{i}", None)
        if value is None:
            break
        parts = value.split("|")
        if len(parts) < 5:
            continue
        attrs = _json_attrs("|".join(parts[3:-1]))
        links.append((_id(parts[0].strip('"'), (32,), "link trace id"),
                      _id(parts[1].strip('"'), (16,), "link span id"), parts[2], attrs,
                      _dropped(parts[-1], f"otlp.link.{i} dropped attributes count")))
    attrs = [(k, v, STRING) for k, v in tags.items()] + _endpoint_attrs(span)
    if span.get("shared") is True:
        attrs.append(("zipkin.shared", "true", BOOL))
    timestamp = span.get("timestamp")
    duration = span.get("duration") or 0
    if not isinstance(duration, int) or (timestamp is not None and not isinstance(timestamp, int)):
        raise _BadSpan("timestamp and duration must be integers (microseconds)")
    if duration < 0:
        raise _BadSpan(f"duration must be >= 0 (microseconds), not {duration}")
    if timestamp:
        start = timestamp * 1000
        if not 0 <= start < MAX_TIME_NS:
            raise _BadSpan(bad_time("timestamp", timestamp, "µs"))
    else:
        start = 0
        attrs.append(("otel.zipkin.absentField.startTime", "true", BOOL))
    end = start + duration * 1000
    if end >= MAX_TIME_NS:
        raise _BadSpan(bad_time("timestamp + duration", start // 1000 + duration, "µs"))
    events = []
    for i, annotation in enumerate(span.get("annotations") or []):
        if not isinstance(annotation, dict) or not isinstance(annotation.get("timestamp"), int):
            raise _BadSpan("an annotation needs an integer timestamp")
        what = f"annotations[{i}]"
        time_ns = annotation["timestamp"] * 1000
        if not 0 <= time_ns < MAX_TIME_NS:
            raise _BadSpan(bad_time(f"{what}.timestamp", annotation["timestamp"], "µs"))
        name, event_attrs, dropped = _split_payload(str(annotation.get("value", "")), what)
        events.append((time_ns, name, event_attrs, dropped))
    local = span.get("localEndpoint") or {}
    service = str(local.get("serviceName") or "")
    return (service, scope, trace_id, span_id, parent, trace_state, str(span.get("name") or ""),
            kind, start, end, code, message, attrs, events, links)


def decode_zipkin_v2_json(body: bytes) -> DecodeResult:
    spans = load_json(body)
    if not isinstance(spans, list):
        raise InvalidInput("a Zipkin v2 request must be a JSON array of spans")
    batch = SpanBatch()
    result = DecodeResult(batch)
    resources: dict[str, int] = {}
    scopes: dict[tuple, int] = {}
    for span in spans:
        try:
            fields = _decode_span(span)
        except (_BadSpan, AttributeError, TypeError, ValueError) as exc:
            result.reject(f"{span_label(span)} rejected: {exc}")
            continue
        except RecursionError:  # e.g. str() of a name that is a list 1000 deep
            result.reject(f"{span_label(span)} rejected: a value nested too deep")
            continue
        (service, scope, trace_id, span_id, parent, trace_state, name, kind, start, end,
         code, message, attrs, events, links) = fields
        r = resources.get(service)
        if r is None:
            r = resources[service] = batch.add_resource(service)
            if service:
                batch.resource_attributes.add("service.name", service, STRING)
            batch.resource_attributes.close_set()
        s = scopes.get(scope)
        if s is None:
            s = scopes[scope] = batch.add_scope(*scope)
        b = batch
        b.trace_id.append(trace_id)
        b.span_id.append(span_id)
        b.parent_span_id.append(parent)
        b.trace_state.append(trace_state)
        b.flags.append(0)
        b.name.append(name)
        b.kind.append(kind)
        b.start_ns.append(start)
        b.end_ns.append(end)
        b.status_code.append(code)
        b.status_message.append(message)
        b.dropped_attributes_count.append(0)
        b.dropped_events_count.append(0)
        b.dropped_links_count.append(0)
        b.resource_index.append(r)
        b.scope_index.append(s)
        for key, value, type_code in attrs:
            b.attributes.add(key, value, type_code)
        b.attributes.close_set()
        for time_ns, event_name, event_attrs, dropped in events:
            b.event_time_ns.append(time_ns)
            b.event_name.append(event_name)
            b.event_dropped_attributes_count.append(dropped)
            for key, value, type_code in event_attrs:
                b.event_attributes.add(key, value, type_code)
            b.event_attributes.close_set()
        b.event_offsets.append(len(b.event_name))
        for tid, sid, state, link_attrs, dropped in links:
            b.link_trace_id.append(tid)
            b.link_span_id.append(sid)
            b.link_trace_state.append(state)
            b.link_flags.append(0)
            b.link_dropped_attributes_count.append(dropped)
            for key, value, type_code in link_attrs:
                b.link_attributes.add(key, value, type_code)
            b.link_attributes.close_set()
        b.link_offsets.append(len(b.link_span_id))
    return result
