"""Bottlenecks: where a request's time went, for one trace and for an endpoint.

**One trace** (``trace_bottleneck``): the critical path (``critical_path.py``) of the trace,
per span its self time and its time on the path, the *bottleneck* (the span with the most time
on the critical path, i.e. the most self time on the path; ties: more self time, then earlier)
with its share of the trace's duration (the root's duration), and the request's *path*: the
spans with time on the critical path in call order (depth first, children by start time),
grouped into hops of consecutive spans of the same service; a database call (a span with
``db.system``) is a hop of its own (consecutive identical calls merge). The hops' times add
up to the trace's duration.

**An endpoint** (``endpoint_bottlenecks``): the traces whose root span is ``service`` /
``operation`` and started in ``[start_ns, end_ns]`` (the newest ``max_traces``; ``capped`` and
``total_traces`` say when some were left out), each trace's critical-path time per (service,
operation), and per (service, operation): the median and p95 of that contribution across the
traces (a trace where it is not on the path contributes 0; percentiles interpolate linearly,
as numpy's default), ``share`` = its total contribution / the traces' total duration (shares of
all rows add up to 1), ``traces_on_path`` = in how many traces it was on the path. The same for
the previous window of the same length (``[start - 1 - (end - start), start - 1]``) and the change; rows
are ranked by median, then share. Every stored trace counts once (sampling weights are not
applied). Two or three queries whatever the number of traces: the ids (newest first), the
count when capped, and the spans of all chosen traces at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Iterable, Mapping, Sequence

from spanhouse.analysis.critical_path import (Segment, critical_path, critical_path_times,
                                              self_times)
from spanhouse.errors import InvalidInput, NotFound
from spanhouse.model.span import SpanRecord, parse_span_kind
from spanhouse.query.model import rfc3339
from spanhouse.query.sqlutil import Tables, check_text, check_window, run
from spanhouse.store.reader import validate_trace_id

DEFAULT_MAX_TRACES = 2000
MAX_TRACES = 10_000
DB_SYSTEM_KEYS = ("db.system", "db.system.name")
KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")


def _ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def _kind_name(kind: int) -> str:
    return KIND_NAMES[kind] if 0 <= kind < len(KIND_NAMES) else str(kind)


def db_system(span: SpanRecord) -> str:
    """The span's ``db.system`` (or newer ``db.system.name``), "" when it is not a db call."""
    for key in DB_SYSTEM_KEYS:
        value = span.attributes.get(key) if span.attributes else None
        if value not in (None, ""):
            return str(value)
    return ""


# ------------------------------------------------------------------ one trace
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
            "duration_ms": _ms(self.duration_ns), "self_time_ms": _ms(self.self_ns),
            "critical_path_ms": _ms(self.critical_path_ns),
            "share": _share(self.critical_path_ns, trace_duration_ns),
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
                "db_system": self.db_system or None, "time_ms": _ms(self.time_ns),
                "share": _share(self.time_ns, trace_duration_ns),
                "span_ids": list(self.span_ids)}


def _segment_json(segment: Segment, spans: Mapping[str, SpanTime]) -> dict:
    span = spans.get(segment.span_id)
    return {"span_id": segment.span_id,
            "service": span.service if span else "", "operation": span.operation if span else "",
            "start": rfc3339(segment.start_ns), "start_ns": segment.start_ns,
            "end_ns": segment.end_ns, "duration_ms": _ms(segment.duration_ns)}


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


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
            "duration_ms": _ms(self.duration_ns),
            "bottleneck": None if self.bottleneck is None else {
                "span_id": self.bottleneck.span_id, "service": self.bottleneck.service,
                "operation": self.bottleneck.operation,
                "db_system": self.bottleneck.db_system or None,
                "critical_path_ms": _ms(self.bottleneck.critical_path_ns),
                "self_time_ms": _ms(self.bottleneck.self_ns),
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


def trace_bottleneck(store, trace_id: str) -> TraceBottleneck:
    """The bottleneck of trace ``trace_id`` (``NotFound`` when the store does not have it)."""
    trace_id = validate_trace_id(trace_id)
    return analyze_trace(trace_id, store.query.get_trace(trace_id))


# ------------------------------------------------------------------ an endpoint
@dataclass(frozen=True)
class Stats:
    """One (service, operation)'s contribution to the endpoint in one window."""

    median_ns: float
    p95_ns: float
    share: float             # total contribution / total duration of the window's traces
    traces_on_path: int

    def to_json(self) -> dict:
        return {"median_ms": _ms(self.median_ns), "p95_ms": _ms(self.p95_ns),
                "share": round(self.share, 4), "traces_on_path": self.traces_on_path}


@dataclass(frozen=True)
class Contribution:
    service: str
    operation: str
    current: Stats
    previous: Stats | None   # None when the previous window had no traces of the endpoint

    def change(self) -> dict | None:
        if self.previous is None:
            return None
        before, now = self.previous.median_ns, self.current.median_ns
        return {"median_ms": _ms(now - before),
                "median_ratio": round(now / before - 1, 4) if before > 0 else None,
                "share": round(self.current.share - self.previous.share, 4)}

    def to_json(self) -> dict:
        return {"service": self.service, "operation": self.operation,
                **self.current.to_json(),
                "previous": self.previous.to_json() if self.previous else None,
                "change": self.change()}


@dataclass(frozen=True)
class Window:
    start_ns: int
    end_ns: int
    traces: int              # traces analyzed
    total_traces: int        # traces of the endpoint in the window
    capped: bool             # total_traces > traces: only the newest were analyzed
    median_duration_ns: float

    def to_json(self) -> dict:
        return {"start": rfc3339(self.start_ns), "end": rfc3339(self.end_ns),
                "traces": self.traces, "total_traces": self.total_traces,
                "capped": self.capped, "median_duration_ms": _ms(self.median_duration_ns)}


@dataclass(frozen=True)
class EndpointBottlenecks:
    service: str
    operation: str
    max_traces: int
    window: Window
    previous_window: Window
    rows: tuple[Contribution, ...]   # ranked by current median, then share

    def to_json(self) -> dict:
        return {"service": self.service, "operation": self.operation,
                "max_traces": self.max_traces, "window": self.window.to_json(),
                "previous_window": self.previous_window.to_json(),
                "operations": [row.to_json() for row in self.rows]}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); 0 for no values."""
    n = len(sorted_values)
    if n == 0:
        return 0.0
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def contributions(traces: Iterable[Sequence[SpanRecord]]
                  ) -> tuple[int, list[int], dict[tuple[str, str], list[int]]]:
    """(number of traces, their durations, per (service, operation) the non-zero critical-path
    contributions) of ``traces`` (each a list of spans)."""
    count, durations = 0, []
    per_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for spans in traces:
        root, times = critical_path_times(spans)
        if root is None:
            continue
        count += 1
        durations.append(root.duration_ns)
        names = {s.span_id: (s.service_name, s.name) for s in spans}
        summed: dict[tuple[str, str], int] = defaultdict(int)
        for span_id, ns in times.items():
            summed[names[span_id]] += ns
        for key, ns in summed.items():
            per_key[key].append(ns)
    return count, durations, per_key


def _stats(count: int, durations: list[int], per_key) -> dict[tuple[str, str], Stats]:
    total = sum(durations)
    out = {}
    for key, values in per_key.items():
        full = sorted([0] * (count - len(values)) + values)
        out[key] = Stats(percentile(full, 0.5), percentile(full, 0.95),
                         sum(values) / total if total > 0 else 0.0, len(values))
    return out


def aggregate(service: str, operation: str, current: Iterable[Sequence[SpanRecord]],
              previous: Iterable[Sequence[SpanRecord]], window: tuple[int, int, int, bool],
              previous_window: tuple[int, int, int, bool],
              max_traces: int = DEFAULT_MAX_TRACES) -> EndpointBottlenecks:
    """The endpoint analysis from the traces in hand (pure). ``window`` and
    ``previous_window`` are (start_ns, end_ns, total_traces, capped)."""
    n_now, d_now, k_now = contributions(current)
    n_before, d_before, k_before = contributions(previous)
    now_stats, before_stats = _stats(n_now, d_now, k_now), _stats(n_before, d_before, k_before)
    rows = [Contribution(service_name, op, stats,
                         before_stats.get((service_name, op)) if n_before else None)
            for (service_name, op), stats in now_stats.items()]
    if n_before:  # on the path before, gone now: a zero row shows the change
        zero = Stats(0.0, 0.0, 0.0, 0)
        rows += [Contribution(s, op, zero, stats) for (s, op), stats in before_stats.items()
                 if (s, op) not in now_stats]
    rows.sort(key=lambda r: (-r.current.median_ns, -r.current.share, -r.current.p95_ns,
                             r.service, r.operation))

    def win(spec, count, durations) -> Window:
        start, end, total, capped = spec
        return Window(start, end, count, max(total, count), capped,
                      percentile(sorted(durations), 0.5))

    return EndpointBottlenecks(service, operation, max_traces, win(window, n_now, d_now),
                               win(previous_window, n_before, d_before), tuple(rows))


@lru_cache(maxsize=None)
def _load_sql(name: str) -> str:
    text = resources.files("spanhouse.analysis").joinpath("sql", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _render(name: str, tables: Tables) -> str:
    return Template(_load_sql(name)).substitute(**tables.fragments)


def _endpoint_window(client, tables: Tables, service: str, operation: str, start_ns: int,
                     end_ns: int, max_traces: int) -> tuple[list[list[SpanRecord]], int, bool]:
    """(the spans of the endpoint's newest traces in the window, total traces, capped)."""
    params = {"service": service, "operation": operation, "start": start_ns, "end": end_ns}
    rows = run(client, _render("bottleneck_endpoint_traces.sql", tables),
               {**params, "limit": max_traces}, "finding the endpoint's traces")
    ids = list(dict.fromkeys(row[0] for row in rows))
    total, capped = len(ids), False
    if len(rows) >= max_traces:
        total = int(run(client, _render("bottleneck_endpoint_count.sql", tables), params,
                        "counting the endpoint's traces")[0][0])
        capped = total > len(ids)
    if not ids:
        return [], total, capped
    spans: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in ids}
    for (trace_id, span_id, parent, service_name, name, kind, start, duration) in run(
            client, _render("bottleneck_endpoint_spans.sql", tables), {"ids": ids},
            "reading the endpoint's traces"):
        spans[trace_id].append(SpanRecord(
            trace_id=trace_id, span_id=span_id, parent_span_id=parent, trace_state="", flags=0,
            name=name, kind=parse_span_kind(kind), service_name=service_name,
            start_ns=int(start), duration_ns=max(int(duration), 0), status_code=0,
            status_message=""))
    return [spans[trace_id] for trace_id in ids if spans[trace_id]], total, capped


def endpoint_bottlenecks(store, service: str, operation: str, start_ns: int, end_ns: int,
                         max_traces: int = DEFAULT_MAX_TRACES) -> EndpointBottlenecks:
    """Where the time of endpoint ``service`` / ``operation`` goes in ``[start_ns, end_ns]``,
    against the previous window of the same length (see the module docstring)."""
    service = check_text(service, "service", empty=False)
    operation = check_text(operation, "operation", empty=False)
    start_ns, end_ns = check_window(start_ns, end_ns)
    if (isinstance(max_traces, bool) or not isinstance(max_traces, int)
            or not 1 <= max_traces <= MAX_TRACES):
        raise InvalidInput(f"max_traces must be a whole number from 1 to {MAX_TRACES}")
    length = end_ns - start_ns
    prev_end = max(start_ns - 1, 0)
    prev_start = max(start_ns - 1 - length, 0)
    with store.client() as (client, tables):
        now, total, capped = _endpoint_window(client, tables, service, operation, start_ns,
                                              end_ns, max_traces)
        if start_ns > 0:
            before, total_before, capped_before = _endpoint_window(
                client, tables, service, operation, prev_start, prev_end, max_traces)
        else:
            before, total_before, capped_before = [], 0, False
    return aggregate(service, operation, now, before, (start_ns, end_ns, total, capped),
                     (prev_start, prev_end, total_before, capped_before), max_traces)


__all__ = ["TraceBottleneck", "SpanTime", "Hop", "trace_bottleneck", "analyze_trace",
           "service_path", "EndpointBottlenecks", "Contribution", "Stats", "Window",
           "endpoint_bottlenecks", "aggregate", "contributions", "percentile", "db_system",
           "DEFAULT_MAX_TRACES", "MAX_TRACES"]
