"""The bottleneck of one trace: where its time went.

``trace_bottleneck`` reads the trace (``AnalysisReader.get_trace``) and ``analyze_trace``
computes, purely: the critical path (``spanhouse.analysis.critical_path``), per span its self
time and its time on the path, the *bottleneck* (the span with the most time on the critical
path, i.e. the most self time on the path; ties: more self time, then earlier) with its share
of the trace's duration (the root's duration), and the request's *path*: the spans with time
on the critical path in call order (depth first, children by start time), grouped into hops of
consecutive spans of the same service; a database call (a span with ``db.system``) is a hop of
its own (consecutive identical calls merge). The hops' times add up to the trace's duration.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

from spanhouse.analysis.bottleneck.figures import ms, share_of
from spanhouse.analysis.critical_path import Segment, critical_path, self_times
from spanhouse.analysis.store import AnalysisReader
from spanhouse.errors import NotFound
from spanhouse.model.enums import SPAN_KINDS
from spanhouse.model.span import SpanRecord
from spanhouse.query.model import rfc3339
from spanhouse.store.reader import validate_trace_id

DB_SYSTEM_KEYS = ("db.system", "db.system.name")


def _kind_name(kind: int) -> str:
    return SPAN_KINDS[kind].lower() if 0 <= kind < len(SPAN_KINDS) else str(kind)


def db_system(span: SpanRecord) -> str:
    """The span's ``db.system`` (or newer ``db.system.name``), "" when it is not a db call."""
    for key in DB_SYSTEM_KEYS:
        value = span.attributes.get(key) if span.attributes else None
        if value not in (None, ""):
            return str(value)
    return ""


@dataclass(frozen=True)
class SpanTime:
    """One span of the trace with its self time and its time on the critical path."""

    span_id: str
    parent_span_id: str
    service: str
    operation: str
    kind: int
    db_system: str
    start_ns: int
    duration_ns: int
    self_ns: int
    critical_path_ns: int

    def to_json(self, trace_duration_ns: int) -> dict:
        return {
            "span_id": self.span_id, "parent_span_id": self.parent_span_id,
            "service": self.service, "operation": self.operation,
            "kind": _kind_name(self.kind), "db_system": self.db_system or None,
            "start": rfc3339(self.start_ns), "start_ns": self.start_ns,
            "duration_ms": ms(self.duration_ns), "self_time_ms": ms(self.self_ns),
            "critical_path_ms": ms(self.critical_path_ns),
            "share": share_of(self.critical_path_ns, trace_duration_ns),
        }


@dataclass(frozen=True)
class Hop:
    """Consecutive critical-path spans of one service (or one database call)."""

    service: str
    operation: str          # the first span's name
    db_system: str          # "" unless the hop is a database call
    time_ns: int            # their time on the critical path
    span_ids: tuple[str, ...]

    def to_json(self, trace_duration_ns: int) -> dict:
        return {"service": self.service, "operation": self.operation,
                "db_system": self.db_system or None, "time_ms": ms(self.time_ns),
                "share": share_of(self.time_ns, trace_duration_ns),
                "span_ids": list(self.span_ids)}


def _segment_json(segment: Segment, spans: Mapping[str, SpanTime]) -> dict:
    span = spans.get(segment.span_id)
    return {"span_id": segment.span_id,
            "service": span.service if span else "", "operation": span.operation if span else "",
            "start": rfc3339(segment.start_ns), "start_ns": segment.start_ns,
            "end_ns": segment.end_ns, "duration_ms": ms(segment.duration_ns)}


@dataclass(frozen=True)
class TraceBottleneck:
    trace_id: str
    root_span_id: str
    root_service: str
    root_operation: str
    start_ns: int
    duration_ns: int                       # the root's duration
    bottleneck: SpanTime | None            # None when nothing is on the path (zero duration)
    path: tuple[Hop, ...]
    segments: tuple[Segment, ...]          # chronological
    async_paths: tuple[tuple[Segment, ...], ...]
    spans: tuple[SpanTime, ...]            # every span of the trace, by start time

    @property
    def share(self) -> float:
        """The bottleneck's time on the path / the trace's duration (0 without bottleneck)."""
        if self.bottleneck is None or self.duration_ns <= 0:
            return 0.0
        return self.bottleneck.critical_path_ns / self.duration_ns

    def to_json(self) -> dict:
        by_id = {s.span_id: s for s in self.spans}
        return {
            "trace_id": self.trace_id,
            "root": {"span_id": self.root_span_id, "service": self.root_service,
                     "operation": self.root_operation},
            "start": rfc3339(self.start_ns),
            "duration_ms": ms(self.duration_ns),
            "bottleneck": None if self.bottleneck is None else {
                "span_id": self.bottleneck.span_id, "service": self.bottleneck.service,
                "operation": self.bottleneck.operation,
                "db_system": self.bottleneck.db_system or None,
                "critical_path_ms": ms(self.bottleneck.critical_path_ns),
                "self_time_ms": ms(self.bottleneck.self_ns),
                "share": round(self.share, 4)},
            "path": [hop.to_json(self.duration_ns) for hop in self.path],
            "critical_path": [_segment_json(s, by_id) for s in self.segments],
            "async_paths": [[_segment_json(s, by_id) for s in path] for path in self.async_paths],
            "spans": [s.to_json(self.duration_ns) for s in self.spans],
        }


def service_path(spans: Sequence[SpanRecord], times: Mapping[str, int]) -> tuple[Hop, ...]:
    """The hops of the request (see the module docstring) from the critical-path ``times``."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[SpanRecord]] = defaultdict(list)
    tops = []
    for span in spans:
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children[parent].append(span)
        else:
            tops.append(span)
    order = lambda s: (s.start_ns, s.span_id)  # noqa: E731
    hops: list[Hop] = []
    key_of_last = None
    seen: set[str] = set()
    stack = sorted(tops, key=order, reverse=True)
    while stack:
        span = stack.pop()
        if span.span_id in seen:
            continue
        seen.add(span.span_id)
        stack.extend(sorted(children.get(span.span_id, ()), key=order, reverse=True))
        time_ns = times.get(span.span_id, 0)
        if time_ns <= 0:
            continue
        db = db_system(span)
        key = ("db", span.service_name, span.name, db) if db else ("service", span.service_name)
        if key == key_of_last:
            last = hops[-1]
            hops[-1] = Hop(last.service, last.operation, last.db_system, last.time_ns + time_ns,
                           last.span_ids + (span.span_id,))
        else:
            hops.append(Hop(span.service_name, span.name, db, time_ns, (span.span_id,)))
            key_of_last = key
    return tuple(hops)


def analyze_trace(trace_id: str, spans: Sequence[SpanRecord]) -> TraceBottleneck:
    """The bottleneck analysis of one trace's spans (pure; ``trace_bottleneck`` reads them)."""
    if not spans:
        raise NotFound(f"trace {trace_id} not found")
    path = critical_path(spans)
    own = self_times(spans)
    ordered = sorted({s.span_id: s for s in reversed(spans)}.values(),
                     key=lambda s: (s.start_ns, s.span_id))
    span_times = tuple(
        SpanTime(s.span_id, s.parent_span_id, s.service_name, s.name, s.kind, db_system(s),
                 s.start_ns, s.duration_ns, own.get(s.span_id, 0),
                 path.span_times.get(s.span_id, 0))
        for s in ordered)
    on_path = [s for s in span_times if s.critical_path_ns > 0]
    bottleneck = min(on_path, key=lambda s: (-s.critical_path_ns, -s.self_ns, s.start_ns,
                                             s.span_id), default=None)
    root = next(s for s in span_times if s.span_id == path.root_span_id)
    return TraceBottleneck(
        trace_id=trace_id, root_span_id=root.span_id, root_service=root.service,
        root_operation=root.operation, start_ns=root.start_ns, duration_ns=root.duration_ns,
        bottleneck=bottleneck, path=service_path(ordered, path.span_times),
        segments=path.segments, async_paths=tuple(p.segments for p in path.async_paths),
        spans=span_times)


def trace_bottleneck(store: AnalysisReader, trace_id: str) -> TraceBottleneck:
    """The bottleneck of trace ``trace_id`` (``NotFound`` when the store does not have it)."""
    trace_id = validate_trace_id(trace_id)
    return analyze_trace(trace_id, store.get_trace(trace_id))


