"""Where the time of an endpoint goes: its traces' critical paths, aggregated.

``endpoint_bottlenecks`` takes the traces whose root span is ``service`` / ``operation`` and
started in ``[start_ns, end_ns]`` (the newest ``max_traces``; ``capped`` and ``total_traces``
say when some were left out), each trace's critical-path time per (service, operation), and
per (service, operation): the median and p95 of that contribution across the traces (a trace
where it is not on the path contributes 0; percentiles interpolate linearly, as numpy's
default), ``share`` = its total contribution / the traces' total duration (shares of all rows
add up to 1), ``traces_on_path`` = in how many traces it was on the path. The same for the
previous window of the same length (``[start - 1 - (end - start), start - 1]``) and the change;
rows are ranked by median, then share. Every stored trace counts once (sampling weights are
not applied).

SQL reads the traces (``spanhouse/analysis/sql/bottleneck_endpoint_*.sql``), Python aggregates
them (``aggregate``: pure). Two or three queries whatever the number of traces: the ids
(newest first), the count when capped, and the spans of all chosen traces at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from spanhouse.analysis.bottleneck.figures import ms
from spanhouse.analysis.critical_path import critical_path_times
from spanhouse.analysis.store import AnalysisReader
from spanhouse.errors import InvalidInput
from spanhouse.model.enums import StatusCode
from spanhouse.model.span import SpanRecord, parse_span_kind
from spanhouse.query.model import rfc3339
from spanhouse.query.sqlutil import Tables, check_text, check_window
from spanhouse.sqlfiles import render

DEFAULT_MAX_TRACES = 2000
MAX_TRACES = 10_000


@dataclass(frozen=True)
class Stats:
    """One (service, operation)'s contribution to the endpoint in one window."""

    median_ns: float
    p95_ns: float
    share: float             # total contribution / total duration of the window's traces
    traces_on_path: int

    def to_json(self) -> dict:
        return {"median_ms": ms(self.median_ns), "p95_ms": ms(self.p95_ns),
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
        return {"median_ms": ms(now - before),
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
                "capped": self.capped, "median_duration_ms": ms(self.median_duration_ns)}


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


def _sql(name: str, tables: Tables) -> str:
    return render("spanhouse.analysis", name, **tables.fragments)


def _endpoint_window(store: AnalysisReader, tables: Tables, service: str, operation: str,
                     start_ns: int, end_ns: int, max_traces: int
                     ) -> tuple[list[list[SpanRecord]], int, bool]:
    """(the spans of the endpoint's newest traces in the window, total traces, capped)."""
    params = {"service": service, "operation": operation, "start": start_ns, "end": end_ns}
    rows = store.rows(_sql("bottleneck_endpoint_traces.sql", tables),
                      {**params, "limit": max_traces}, "finding the endpoint's traces")
    ids = list(dict.fromkeys(row[0] for row in rows))
    total, capped = len(ids), False
    if len(rows) >= max_traces:
        total = int(store.rows(_sql("bottleneck_endpoint_count.sql", tables), params,
                               "counting the endpoint's traces")[0][0])
        capped = total > len(ids)
    if not ids:
        return [], total, capped
    spans: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in ids}
    for (trace_id, span_id, parent, service_name, name, kind, start, duration) in store.rows(
            _sql("bottleneck_endpoint_spans.sql", tables), {"ids": ids},
            "reading the endpoint's traces"):
        spans[trace_id].append(SpanRecord(
            trace_id=trace_id, span_id=span_id, parent_span_id=parent, trace_state="", flags=0,
            name=name, kind=parse_span_kind(kind), service_name=service_name,
            start_ns=int(start), duration_ns=max(int(duration), 0), status_code=StatusCode.UNSET,
            status_message=""))
    return [spans[trace_id] for trace_id in ids if spans[trace_id]], total, capped


def endpoint_bottlenecks(store: AnalysisReader, service: str, operation: str, start_ns: int,
                         end_ns: int, max_traces: int = DEFAULT_MAX_TRACES
                         ) -> EndpointBottlenecks:
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
    tables = store.tables()
    now, total, capped = _endpoint_window(store, tables, service, operation, start_ns, end_ns,
                                          max_traces)
    if start_ns > 0:
        before, total_before, capped_before = _endpoint_window(
            store, tables, service, operation, prev_start, prev_end, max_traces)
    else:
        before, total_before, capped_before = [], 0, False
    return aggregate(service, operation, now, before, (start_ns, end_ns, total, capped),
                     (prev_start, prev_end, total_before, capped_before), max_traces)


