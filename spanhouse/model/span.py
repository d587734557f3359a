"""Read-side span records: what the store's reader returns for one trace.

The write path never builds these (it stays columnar, see ``batch.py``); a query builds one
``SpanRecord`` per span of the (small) result. Values are already typed: attribute maps hold
Python values restored with ``decode_typed`` from the stored strings and the ``*AttributeTypes``
columns (a table without those columns yields strings), kinds and status codes are the OTLP
enum integers (both the exporter's current ``"Server"``/``"Error"`` spellings and the legacy
``"SPAN_KIND_SERVER"``/``"STATUS_CODE_ERROR"`` ones are parsed), times are Unix nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from spanhouse.model.attributes import TYPE_NAMES, decode_typed
from spanhouse.model.batch import SPAN_KIND_CODES, STATUS_CODE_CODES, AttrColumns, SpanBatch


def parse_span_kind(value: str) -> int:
    """``"Server"`` or ``"SPAN_KIND_SERVER"`` -> 2; unknown -> 0 (unspecified)."""
    return SPAN_KIND_CODES.get(value, 0)


def parse_status_code(value: str) -> int:
    """``"Error"`` or ``"STATUS_CODE_ERROR"`` -> 2; unknown -> 0 (unset)."""
    return STATUS_CODE_CODES.get(value, 0)


def typed_attributes(values: Mapping[str, str], types: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Stored attribute strings -> typed Python values (a key missing from ``types`` is a string)."""
    if not types:
        return dict(values)
    return {key: decode_typed(value, types.get(key)) for key, value in values.items()}


@dataclass(frozen=True, slots=True)
class EventRecord:
    time_ns: int
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(frozen=True, slots=True)
class LinkRecord:
    trace_id: str
    span_id: str
    trace_state: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    flags: int = 0
    dropped_attributes_count: int = 0


@dataclass(frozen=True, slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str
    trace_state: str
    flags: int
    name: str
    kind: int
    service_name: str
    start_ns: int
    duration_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, Any] = field(default_factory=dict)
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    events: tuple[EventRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0
    adjusted_count: float = 1.0
    sampling_policy: str = ""

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.duration_ns


# ------------------------------------------------------------------ from a batch (tests, tools)
def _attr_set(cols: AttrColumns, i: int) -> dict[str, Any]:
    return {key: decode_typed(value, TYPE_NAMES[code]) for key, value, code in cols.set_items(i)}


def records_from_batch(batch: SpanBatch) -> list[SpanRecord]:
    """The records a reader returns for ``batch``'s spans once stored (in batch order).

    A convenience for tests and tools, not for the hot path: it builds one object per span.
    """
    out = []
    for i in range(len(batch)):
        r, s = batch.resource_index[i], batch.scope_index[i]
        e_lo, e_hi = batch.event_offsets[i], batch.event_offsets[i + 1]
        l_lo, l_hi = batch.link_offsets[i], batch.link_offsets[i + 1]
        events = tuple(
            EventRecord(batch.event_time_ns[e], batch.event_name[e],
                        _attr_set(batch.event_attributes, e),
                        batch.event_dropped_attributes_count[e])
            for e in range(e_lo, e_hi))
        links = tuple(
            LinkRecord(batch.link_trace_id[k], batch.link_span_id[k], batch.link_trace_state[k],
                       _attr_set(batch.link_attributes, k), batch.link_flags[k],
                       batch.link_dropped_attributes_count[k])
            for k in range(l_lo, l_hi))
        adjusted = getattr(batch, "adjusted_count", None)
        policy = getattr(batch, "sampling_policy", None)
        out.append(SpanRecord(
            trace_id=batch.trace_id[i],
            span_id=batch.span_id[i],
            parent_span_id=batch.parent_span_id[i],
            trace_state=batch.trace_state[i],
            flags=batch.flags[i],
            name=batch.name[i],
            kind=batch.kind[i],
            service_name=batch.resource_service_name[r],
            start_ns=batch.start_ns[i],
            duration_ns=max(batch.end_ns[i] - batch.start_ns[i], 0),
            status_code=batch.status_code[i],
            status_message=batch.status_message[i],
            attributes=_attr_set(batch.attributes, i),
            resource_attributes=_attr_set(batch.resource_attributes, r),
            scope_name=batch.scope_name[s],
            scope_version=batch.scope_version[s],
            events=events,
            links=links,
            dropped_attributes_count=batch.dropped_attributes_count[i],
            dropped_events_count=batch.dropped_events_count[i],
            dropped_links_count=batch.dropped_links_count[i],
            adjusted_count=float(adjusted[i]) if adjusted else 1.0,
            sampling_policy=policy[i] if policy else "",
        ))
    return out
