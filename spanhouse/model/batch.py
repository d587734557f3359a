"""The one batch type on the hot path: a columnar ``SpanBatch``.

A receiver decodes a request once into a ``SpanBatch``; processors and exporters pass it along
and the store inserts it as columns (Arrow arrays built straight from these lists). There is no
Python object per span: every per-span field is one list, and every variable-length part
(attributes, events, links) is flattened into value lists plus an ``offsets`` list, the way
Arrow lays out list columns.

Conventions (all decoders MUST follow them):

- ids are lowercase hex strings: trace id 32 chars, span id 16 chars, parent "" for a root;
- times are integers in Unix nanoseconds;
- ``kind`` and ``status_code`` are the OTLP enum integers (see ``SPAN_KINDS``/``STATUS_CODES``);
- attribute values are the strings of ``spanhouse.model.attributes`` with a type code beside them;
- resources and scopes are small tables; each span points into them by index, so a resource's
  attributes are decoded once per request, not once per span.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field
from typing import Iterable, Sequence

# OTLP enums -> the strings the collector's ClickHouse exporter writes (spanhouse.model.enums).
from spanhouse.model.enums import (  # noqa: E402,F401  (re-exported)
    LEGACY_SPAN_KINDS, LEGACY_STATUS_CODES, SPAN_KIND_CODES, SPAN_KINDS, STATUS_CODE_CODES, STATUS_CODES,
)


def _take_flat(offsets: Sequence[int], values: Sequence, rows: Iterable[int]):
    """Select rows of a flattened list column: returns (new_offsets, new_values, picked_ranges)."""
    new_offsets = [0]
    new_values: list = []
    ranges = []
    for row in rows:
        lo, hi = offsets[row], offsets[row + 1]
        new_values.extend(values[lo:hi])
        new_offsets.append(len(new_values))
        ranges.append((lo, hi))
    return new_offsets, new_values, ranges


@dataclass(slots=True)
class AttrColumns:
    """A list of attribute sets, flattened: set ``i`` is ``keys[offsets[i]:offsets[i+1]]``."""

    offsets: list[int] = field(default_factory=lambda: [0])
    keys: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    types: list[int] = field(default_factory=list)

    def add(self, key: str, value: str, type_code: int) -> None:
        self.keys.append(key)
        self.values.append(value)
        self.types.append(type_code)

    def close_set(self) -> None:
        """End the current attribute set (call once per owner, even when it has no attributes)."""
        self.offsets.append(len(self.keys))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lookup(self, owner: int, key: str) -> tuple[str, int] | None:
        """``(stored string, type code)`` of attribute ``key`` in set ``owner``, or None."""
        keys = self.keys
        for i in range(self.offsets[owner], self.offsets[owner + 1]):
            if keys[i] == key:
                return self.values[i], self.types[i]
        return None

    def set_items(self, i: int) -> list[tuple[str, str, int]]:
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return list(zip(self.keys[lo:hi], self.values[lo:hi], self.types[lo:hi]))

    def take(self, rows: Iterable[int]) -> "AttrColumns":
        rows = list(rows)
        offsets, keys, _ = _take_flat(self.offsets, self.keys, rows)
        _, values, _ = _take_flat(self.offsets, self.values, rows)
        _, types, _ = _take_flat(self.offsets, self.types, rows)
        return AttrColumns(offsets, keys, values, types)

    def extend(self, other: "AttrColumns") -> None:
        base = len(self.keys)
        self.offsets.extend(base + o for o in other.offsets[1:])
        self.keys.extend(other.keys)
        self.values.extend(other.values)
        self.types.extend(other.types)


@dataclass(slots=True)
class SpanBatch:
    """Columns of spans. See the module docstring for the conventions."""

    # --- one entry per span ---
    trace_id: list[str] = field(default_factory=list)
    span_id: list[str] = field(default_factory=list)
    parent_span_id: list[str] = field(default_factory=list)
    trace_state: list[str] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    start_ns: list[int] = field(default_factory=list)
    end_ns: list[int] = field(default_factory=list)
    status_code: list[int] = field(default_factory=list)
    status_message: list[str] = field(default_factory=list)
    dropped_attributes_count: list[int] = field(default_factory=list)
    dropped_events_count: list[int] = field(default_factory=list)
    dropped_links_count: list[int] = field(default_factory=list)
    resource_index: list[int] = field(default_factory=list)
    scope_index: list[int] = field(default_factory=list)
    attributes: AttrColumns = field(default_factory=AttrColumns)

    # --- events: span i owns events event_offsets[i]:event_offsets[i+1] ---
    event_offsets: list[int] = field(default_factory=lambda: [0])
    event_time_ns: list[int] = field(default_factory=list)
    event_name: list[str] = field(default_factory=list)
    event_dropped_attributes_count: list[int] = field(default_factory=list)
    event_attributes: AttrColumns = field(default_factory=AttrColumns)

    # --- links: span i owns links link_offsets[i]:link_offsets[i+1] ---
    link_offsets: list[int] = field(default_factory=lambda: [0])
    link_trace_id: list[str] = field(default_factory=list)
    link_span_id: list[str] = field(default_factory=list)
    link_trace_state: list[str] = field(default_factory=list)
    link_flags: list[int] = field(default_factory=list)
    link_dropped_attributes_count: list[int] = field(default_factory=list)
    link_attributes: AttrColumns = field(default_factory=AttrColumns)

    # --- sampling, per span; empty lists mean "not sampled": adjusted count 1, no policy ---
    adjusted_count: list[float] = field(default_factory=list)
    sampling_policy: list[str] = field(default_factory=list)

    # --- resources table (spans point here through resource_index) ---
    resource_service_name: list[str] = field(default_factory=list)
    resource_dropped_attributes_count: list[int] = field(default_factory=list)
    resource_attributes: AttrColumns = field(default_factory=AttrColumns)

    # --- scopes table (spans point here through scope_index) ---
    scope_name: list[str] = field(default_factory=list)
    scope_version: list[str] = field(default_factory=list)

    # --- where the spans came from (spanhouse.wal): the lowest write-ahead log seq among
    # them (0: not from the log), and the store's deduplication token for exactly this
    # batch ("" when it was regrouped since the log cut it) ---
    seq_low: int = 0
    insert_token: str = ""

    def __len__(self) -> int:
        return len(self.span_id)

    # ------------------------------------------------------------------ building
    def add_resource(self, service_name: str, dropped_attributes_count: int = 0) -> int:
        """Append a resource row; the caller then adds its attributes and calls
        ``resource_attributes.close_set()``. Returns the resource index."""
        self.resource_service_name.append(service_name)
        self.resource_dropped_attributes_count.append(dropped_attributes_count)
        return len(self.resource_service_name) - 1

    def add_scope(self, name: str, version: str) -> int:
        self.scope_name.append(name)
        self.scope_version.append(version)
        return len(self.scope_name) - 1

    # ------------------------------------------------------------------ reshaping
    def take(self, rows: Sequence[int]) -> "SpanBatch":
        """A new batch holding the given spans, in the given order. Resources and scopes
        tables are shared by reference-copy (they are small); indices stay valid."""
        rows = list(rows)
        out = SpanBatch()
        out.seq_low = self.seq_low
        for name in _SPAN_SCALARS:
            column = getattr(self, name)
            setattr(out, name, [column[r] for r in rows])
        out.attributes = self.attributes.take(rows)

        out.event_offsets, _, ev_ranges = _take_flat(self.event_offsets, self.event_name, rows)
        ev_rows = [e for lo, hi in ev_ranges for e in range(lo, hi)]
        for name in _EVENT_SCALARS:
            column = getattr(self, name)
            setattr(out, name, [column[e] for e in ev_rows])
        out.event_attributes = self.event_attributes.take(ev_rows)

        out.link_offsets, _, ln_ranges = _take_flat(self.link_offsets, self.link_span_id, rows)
        ln_rows = [e for lo, hi in ln_ranges for e in range(lo, hi)]
        for name in _LINK_SCALARS:
            column = getattr(self, name)
            setattr(out, name, [column[e] for e in ln_rows])
        out.link_attributes = self.link_attributes.take(ln_rows)

        if self.adjusted_count:
            out.adjusted_count = [self.adjusted_count[r] for r in rows]
            out.sampling_policy = [self.sampling_policy[r] for r in rows]
        for name in _TABLE_COLUMNS:
            setattr(out, name, list(getattr(self, name)))
        out.resource_attributes = self.resource_attributes.take(range(len(self.resource_attributes)))
        return out

    def extend(self, other: "SpanBatch") -> None:
        """Append ``other``'s spans to this batch (used to coalesce batches before an insert)."""
        if other.seq_low and (not self.seq_low or other.seq_low < self.seq_low):
            self.seq_low = other.seq_low
        res_base = len(self.resource_service_name)
        scope_base = len(self.scope_name)
        for name in _SPAN_SCALARS:
            if name == "resource_index":
                self.resource_index.extend(res_base + i for i in other.resource_index)
            elif name == "scope_index":
                self.scope_index.extend(scope_base + i for i in other.scope_index)
            else:
                getattr(self, name).extend(getattr(other, name))
        self.attributes.extend(other.attributes)
        ev_base = len(self.event_name)
        self.event_offsets.extend(ev_base + o for o in other.event_offsets[1:])
        for name in _EVENT_SCALARS:
            getattr(self, name).extend(getattr(other, name))
        self.event_attributes.extend(other.event_attributes)
        ln_base = len(self.link_span_id)
        self.link_offsets.extend(ln_base + o for o in other.link_offsets[1:])
        for name in _LINK_SCALARS:
            getattr(self, name).extend(getattr(other, name))
        self.link_attributes.extend(other.link_attributes)
        if self.adjusted_count or other.adjusted_count:
            self.adjusted_count = self.adjusted_counts()[: len(self) - len(other)] + other.adjusted_counts()
            self.sampling_policy = self.sampling_policies()[: len(self) - len(other)] + other.sampling_policies()
        for name in _TABLE_COLUMNS:
            getattr(self, name).extend(getattr(other, name))
        self.resource_attributes.extend(other.resource_attributes)

    @classmethod
    def concat(cls, batches: Iterable["SpanBatch"]) -> "SpanBatch":
        out = cls()
        for batch in batches:
            out.extend(batch)
        return out

    def compact(self) -> "SpanBatch":
        """Shrink this batch in place for a long stay in memory (the tail-sampling buffer):
        equal strings become one shared object (attribute keys are interned, values, trace
        ids, names and parent ids deduplicated), and integer columns are packed into
        ``array('q')``. Values are unchanged; returns self."""
        shared: dict[str, str] = {}
        keep = shared.setdefault
        for cols in (self.attributes, self.event_attributes, self.link_attributes):
            cols.keys[:] = [sys.intern(k) for k in cols.keys]
            cols.values[:] = [keep(v, v) for v in cols.values]
            cols.types = array("b", cols.types)
        for name in ("trace_id", "parent_span_id", "name", "trace_state", "status_message",
                     "event_name"):
            column = getattr(self, name)
            column[:] = [keep(v, v) for v in column]
        for name in _PACKED_INTS:
            try:  # unsigned 64-bit holds every OTLP fixed64/uint32 value
                setattr(self, name, array("Q", getattr(self, name)))
            except (OverflowError, TypeError):  # e.g. a negative enum from JSON: keep the list
                pass
        return self

    def adjusted_counts(self) -> list[float]:
        """Per span: how many real spans it stands for (1 unless sampling recorded otherwise)."""
        return list(self.adjusted_count) if self.adjusted_count else [1.0] * len(self)

    def sampling_policies(self) -> list[str]:
        return list(self.sampling_policy) if self.sampling_policy else [""] * len(self)

    def service_of(self, i: int) -> str:
        return self.resource_service_name[self.resource_index[i]]


_SPAN_SCALARS = (
    "trace_id", "span_id", "parent_span_id", "trace_state", "flags", "name", "kind",
    "start_ns", "end_ns", "status_code", "status_message", "dropped_attributes_count",
    "dropped_events_count", "dropped_links_count", "resource_index", "scope_index",
)
_PACKED_INTS = (
    "flags", "kind", "start_ns", "end_ns", "status_code", "dropped_attributes_count",
    "dropped_events_count", "dropped_links_count", "resource_index", "scope_index",
    "event_time_ns",
)
_EVENT_SCALARS = ("event_time_ns", "event_name", "event_dropped_attributes_count")
_LINK_SCALARS = (
    "link_trace_id", "link_span_id", "link_trace_state", "link_flags",
    "link_dropped_attributes_count",
)
_TABLE_COLUMNS = (
    "resource_service_name", "resource_dropped_attributes_count", "scope_name", "scope_version",
)


@dataclass(slots=True)
class DecodeResult:
    """What a decoder returns: the valid spans, and how many it rejected and why.

    Rejected spans (invalid ids, a number out of its column's range, a bad field in one span)
    are reported back to the sender through OTLP's ``partial_success``; the rest of the
    request is kept. ``error_message`` stays bounded however many spans are rejected (see
    ``spanhouse.model.limits``): the first few messages, then "(and N more spans rejected)".
    """

    batch: SpanBatch
    rejected: int = 0
    error_message: str = ""
    # the messages spelled out in error_message, and how many they are
    _head: str = field(default="", init=False, repr=False, compare=False)
    _shown: int = field(default=0, init=False, repr=False, compare=False)

    def reject(self, message: str) -> None:
        from spanhouse.model.limits import (  # batch.py's imports stay those of the batch
            ELLIPSIS, MAX_ERROR_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MAX_MESSAGES,
        )

        self.rejected += 1
        if self._shown == self.rejected - 1 and self._shown < MAX_MESSAGES:
            raw = message.encode("utf-8", "replace")
            if len(raw) > MAX_MESSAGE_BYTES:
                cut = MAX_MESSAGE_BYTES - len(ELLIPSIS.encode())
                message = raw[:cut].decode("utf-8", "ignore") + ELLIPSIS
            head = f"{self._head}; {message}" if self._head else message
            # room left for the longest possible "(and N more ...)" tail
            if len(head.encode("utf-8", "replace")) <= MAX_ERROR_MESSAGE_BYTES - 64:
                self._head = head
                self._shown += 1
                self.error_message = head
                return
        more = self.rejected - self._shown
        tail = f"(and {more} more span{'' if more == 1 else 's'} rejected)"
        self.error_message = f"{self._head} {tail}" if self._head else tail
