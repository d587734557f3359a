"""Hand-built ``SpanBatch``es for the store tests (every attribute type, events, links, ...)."""

from __future__ import annotations

import dataclasses
import time

from spanhouse.model.attributes import (
    ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING, encode_bytes, format_double,
    json_compact,
)
from spanhouse.model.batch import AttrColumns, SpanBatch
from spanhouse.model.span import EventRecord, LinkRecord, SpanRecord, records_from_batch

TRACE_A = "5b8efff798038103d269b633813fc60c"
TRACE_B = "0af7651916cd43dd8448eb211c80319c"
LINKED_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

# Recent times (exporter DDL variants carry a 180-day TTL with ttl_only_drop_parts).
T0 = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000 + 123_456_789


def typed(value) -> tuple[str, int]:
    """A Python value -> (stored string, type code), as the decoders encode AnyValues."""
    if value is None:
        return "", EMPTY
    if isinstance(value, bool):
        return ("true" if value else "false"), BOOL
    if isinstance(value, int):
        return str(value), INT
    if isinstance(value, float):
        return format_double(value), DOUBLE
    if isinstance(value, bytes):
        return encode_bytes(value), BYTES
    if isinstance(value, list):
        return json_compact(value), ARRAY
    if isinstance(value, dict):
        return json_compact(value), KVLIST
    return value, STRING


def add_set(cols: AttrColumns, attributes: dict) -> None:
    for key, value in attributes.items():
        text, code = typed(value)
        cols.add(key, text, code)
    cols.close_set()


EVERY_TYPE = {
    "http.method": "GET",
    "http.status_code": 200,
    "big.int": -(2 ** 63),
    "retry": True,
    "cache.hit": False,
    "ratio": 0.25,
    "tiny": 1e-7,
    "payload": b"\x00\x01\x02\xff",
    "tags": [1, "a", True, 2.5],
    "config": {"b": 1, "a": {"nested": [1, 2]}},
    "nothing": None,
    "unicode": "h\u00e9llo \u2603",
}


def add_span(b: SpanBatch, *, trace_id: str, span_id: str, parent: str = "", name: str,
             kind: int, start: int, end: int, resource: int, scope: int,
             attributes: dict | None = None, status: int = 0, message: str = "",
             flags: int = 1, trace_state: str = "", dropped: tuple[int, int, int] = (0, 0, 0),
             events: list[tuple[int, str, dict, int]] = (), links: list[dict] = ()) -> None:
    b.trace_id.append(trace_id)
    b.span_id.append(span_id)
    b.parent_span_id.append(parent)
    b.trace_state.append(trace_state)
    b.flags.append(flags)
    b.name.append(name)
    b.kind.append(kind)
    b.start_ns.append(start)
    b.end_ns.append(end)
    b.status_code.append(status)
    b.status_message.append(message)
    b.dropped_attributes_count.append(dropped[0])
    b.dropped_events_count.append(dropped[1])
    b.dropped_links_count.append(dropped[2])
    b.resource_index.append(resource)
    b.scope_index.append(scope)
    add_set(b.attributes, attributes or {})
    for time_ns, event_name, event_attrs, event_dropped in events:
        b.event_time_ns.append(time_ns)
        b.event_name.append(event_name)
        b.event_dropped_attributes_count.append(event_dropped)
        add_set(b.event_attributes, event_attrs)
    b.event_offsets.append(len(b.event_name))
    for link in links:
        b.link_trace_id.append(link["trace_id"])
        b.link_span_id.append(link["span_id"])
        b.link_trace_state.append(link.get("trace_state", ""))
        b.link_flags.append(link.get("flags", 0))
        b.link_dropped_attributes_count.append(link.get("dropped", 0))
        add_set(b.link_attributes, link.get("attributes", {}))
    b.link_offsets.append(len(b.link_span_id))


def full_batch(t0: int = T0) -> SpanBatch:
    """Two resources, three scopes, every attribute type, events, links, errors, drops; a
    five-span trace ``TRACE_A`` and a one-span trace ``TRACE_B``."""
    b = SpanBatch()
    front = b.add_resource("frontend", dropped_attributes_count=2)
    add_set(b.resource_attributes, {
        "service.name": "frontend", "host.name": "web-1", "process.pid": 4242,
        "deployment.canary": True, "cpu.share": 0.5, "build.id": b"\xde\xad",
        "host.ips": ["10.0.0.1", "10.0.0.2"], "k8s": {"pod": "web-1-abc", "ns": "prod"},
        "empty.attr": None,
    })
    back = b.add_resource("backend")
    add_set(b.resource_attributes, {"service.name": "backend", "k8s.pod.name": "api-7"})
    flask = b.add_scope("io.opentelemetry.flask", "0.42b0")
    bare = b.add_scope("", "")
    db = b.add_scope("db.client", "")

    add_span(b, trace_id=TRACE_A, span_id="00f067aa0ba902b7", name="GET /checkout",
             kind=2, start=t0, end=t0 + 250_000_123, resource=front, scope=flask,
             attributes=EVERY_TYPE, status=1, flags=1, trace_state="congo=t61rcWkgMzE",
             events=[(t0 + 1_000, "request.received", {"size": 1024, "chunked": False}, 0)])
    add_span(b, trace_id=TRACE_A, span_id="b7ad6b7169203331", parent="00f067aa0ba902b7",
             name="POST /api/pay", kind=3, start=t0 + 10_000_001, end=t0 + 200_000_000,
             resource=front, scope=bare, attributes={"peer.service": "backend", "attempt": 2},
             status=2, message="upstream returned 503", flags=0x301, dropped=(3, 4, 5),
             events=[
                 (t0 + 20_000_000, "exception", {
                     "exception.type": "TimeoutError", "exception.message": "read timed out",
                     "exception.escaped": True}, 1),
                 (t0 + 30_000_000, "retry", {}, 0),
             ],
             links=[{"trace_id": LINKED_TRACE, "span_id": "00f067aa0ba902b8",
                     "trace_state": "rojo=00f067aa0ba902b7", "flags": 0x101, "dropped": 6,
                     "attributes": {"link.reason": "batch", "link.weight": 0.75,
                                    "opentracing.ref_type": "follows_from"}}])
    add_span(b, trace_id=TRACE_A, span_id="a1b2c3d4e5f60718", parent="b7ad6b7169203331",
             name="pay", kind=2, start=t0 + 15_000_000, end=t0 + 190_000_000, resource=back,
             scope=flask, attributes={"pay.amount": 12.5, "pay.currency": "EUR"},
             links=[{"trace_id": TRACE_A, "span_id": "00f067aa0ba902b7", "attributes": {}},
                    {"trace_id": LINKED_TRACE, "span_id": "1111111111111111",
                     "attributes": {"opentracing.ref_type": "child_of"}}])
    add_span(b, trace_id=TRACE_A, span_id="0102030405060708", parent="a1b2c3d4e5f60718",
             name="SELECT payments", kind=3, start=t0 + 16_000_000, end=t0 + 16_000_000,
             resource=back, scope=db, attributes={"db.system": "postgresql"}, flags=1)
    # a clock-skewed span (end before start: the duration is clamped at 0), kind unspecified
    add_span(b, trace_id=TRACE_A, span_id="ffffffffffffff01", parent="00f067aa0ba902b7",
             name="skewed", kind=0, start=t0 + 300_000_000, end=t0 + 299_000_000,
             resource=back, scope=bare, flags=0)
    add_span(b, trace_id=TRACE_B, span_id="1234567890abcdef", name="other trace", kind=1,
             start=t0 + 5, end=t0 + 10, resource=back, scope=db)
    return b


def expected_trace(batch: SpanBatch, trace_id: str) -> list[SpanRecord]:
    """What ``get_trace`` returns for ``trace_id`` after ``batch`` was written."""
    records = [r for r in records_from_batch(batch) if r.trace_id == trace_id]
    return sorted(records, key=lambda r: (r.start_ns, r.span_id))


def _strings(cols: AttrColumns, i: int) -> dict:
    return {key: value for key, value, _ in cols.set_items(i)}


def expected_in_exporter_table(batch: SpanBatch, trace_id: str) -> list[SpanRecord]:
    """What ``get_trace`` returns from an exporter-created table (no Spanhouse columns):
    attribute values stay the stored strings; flags, dropped counts and sampling are gone."""
    out = []
    records = records_from_batch(batch)
    event_index = link_index = 0
    for i, r in enumerate(records):
        events = tuple(
            EventRecord(e.time_ns, e.name, _strings(batch.event_attributes, event_index + k), 0)
            for k, e in enumerate(r.events))
        links = tuple(
            LinkRecord(l.trace_id, l.span_id, l.trace_state,
                       _strings(batch.link_attributes, link_index + k), 0, 0)
            for k, l in enumerate(r.links))
        event_index += len(r.events)
        link_index += len(r.links)
        if r.trace_id != trace_id:
            continue
        out.append(dataclasses.replace(
            r, flags=0, attributes=_strings(batch.attributes, i),
            resource_attributes=_strings(batch.resource_attributes, batch.resource_index[i]),
            events=events, links=links, dropped_attributes_count=0, dropped_events_count=0,
            dropped_links_count=0, adjusted_count=1.0, sampling_policy=""))
    return sorted(out, key=lambda r: (r.start_ns, r.span_id))
