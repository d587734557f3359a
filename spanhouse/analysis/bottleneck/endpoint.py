"""Where the time of an endpoint goes: its traces' critical paths, aggregated, sampling-aware.

``endpoint_bottlenecks`` takes the traces whose root span is ``service`` / ``operation`` and
started in ``[start_ns, end_ns]``. Every figure is an ESTIMATE: a stored trace stands for
``AdjustedCount`` traces (its root span's; 1 on a table without the column).

- The window's figures (``Durations``: estimated traces, weighted median / p95 / p99 of the
  root span's duration, and the stored count and unweighted median beside them) come from
  ClickHouse over every root span of the window (``bottleneck_endpoint_stats.sql``:
  ``quantilesExactWeighted`` with weights ``round(1000 * AdjustedCount)``).
- Per (service, operation), over the analyzed traces (the newest ``max_traces``; ``capped``
  says when some were left out): the weighted median and p95 of its critical-path time (a
  trace where it is not on the path contributes 0; a trace counts as ``round(AdjustedCount)``
  copies, percentiles interpolate linearly between ranks, as numpy's default does on the
  copies), ``share`` = its weighted contribution / the traces' weighted total duration (shares
  add up to 1), ``traces_on_path`` (stored) and ``estimated_traces_on_path``. The same for the
  previous window of the same length (``[start - 1 - (end - start), start - 1]``) and the
  change; rows are ranked by median, then share.

SQL reads the traces (``spanhouse/analysis/sql/bottleneck_endpoint_*.sql``), Python computes
the critical paths (``aggregate``: pure). Three queries per window whatever the number of
traces: the figures, the ids (newest first) and the spans of all chosen traces at once.
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
    """One (service, operation)'s contribution to the endpoint in one window (weighted)."""

    median_ns: float
    p95_ns: float
    share: float             # weighted contribution / weighted duration of the window's traces
    traces_on_path: int      # stored traces where it is on the path
    estimated_traces_on_path: float = 0.0

    def to_json(self) -> dict:
        return {"median_ms": ms(self.median_ns), "p95_ms": ms(self.p95_ns),
                "share": round(self.share, 4), "traces_on_path": self.traces_on_path,
                "estimated_traces_on_path": round(self.estimated_traces_on_path, 3)}


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
class Durations:
    """The endpoint's traces in a window: estimated and stored counts, root durations."""

    stored: int
    estimated: float
    median_ns: float         # weighted
    p95_ns: float            # weighted
    p99_ns: float            # weighted
    stored_median_ns: float  # unweighted, of the stored traces


@dataclass(frozen=True)
class Window:
    start_ns: int
    end_ns: int
    traces: int              # traces analyzed (stored)
    total_traces: int        # stored traces of the endpoint in the window
    capped: bool             # total_traces > traces: only the newest were analyzed
    median_duration_ns: float            # weighted (the estimate)
    estimated_traces: float = 0.0
    p95_duration_ns: float = 0.0
    p99_duration_ns: float = 0.0
    stored_median_duration_ns: float = 0.0

    def to_json(self) -> dict:
        return {"start": rfc3339(self.start_ns), "end": rfc3339(self.end_ns),
                "estimated_traces": round(self.estimated_traces, 3),
                "median_duration_ms": ms(self.median_duration_ns),
                "p95_duration_ms": ms(self.p95_duration_ns),
                "p99_duration_ms": ms(self.p99_duration_ns),
                "stored_traces": self.total_traces,
                "stored_median_duration_ms": ms(self.stored_median_duration_ns),
                "traces": self.traces, "total_traces": self.total_traces,
                "capped": self.capped}


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


def copies(weight: float) -> int:
    """How many traces a stored trace of ``weight`` (AdjustedCount) counts as: at least 1."""
    return max(1, round(weight))


def weighted_percentile(pairs: Iterable[tuple[float, float]], q: float) -> float:
    """``percentile`` of the values of ``(value, weight)`` pairs, each value repeated
    ``copies(weight)`` times (without building the copies); 0 for no values."""
    items = sorted((v, copies(w)) for v, w in pairs)
    total = sum(c for _, c in items)
    if not total:
        return 0.0
    pos = q * (total - 1)
    lo_rank = math.floor(pos)
    hi_rank = min(lo_rank + 1, total - 1)
    lo = hi = None
    seen = 0
    for value, count in items:
        seen += count
        if lo is None and lo_rank < seen:
            lo = value
        if hi_rank < seen:
            hi = value
            break
    return lo + (hi - lo) * (pos - lo_rank)


Pair = tuple[int, float]     # (nanoseconds, weight)


def contributions(traces: Iterable[Sequence[SpanRecord]]
                  ) -> tuple[list[float], list[Pair], dict[tuple[str, str], dict[int, Pair]]]:
    """(the traces' weights, their (duration, weight), per (service, operation) the non-zero
    critical-path contributions by trace index) of ``traces`` (each a list of spans; a trace's
    weight is its root span's ``adjusted_count``)."""
    weights: list[float] = []
    durations: list[Pair] = []
    per_key: dict[tuple[str, str], dict[int, Pair]] = defaultdict(dict)
    for spans in traces:
        root, times = critical_path_times(spans)
        if root is None:
            continue
        index, weight = len(weights), float(root.adjusted_count or 1.0)
        weights.append(weight)
        durations.append((root.duration_ns, weight))
        names = {s.span_id: (s.service_name, s.name) for s in spans}
        summed: dict[tuple[str, str], int] = defaultdict(int)
        for span_id, ns in times.items():
            summed[names[span_id]] += ns
        for key, ns in summed.items():
            per_key[key][index] = (ns, weight)
    return weights, durations, per_key


def _stats(weights: list[float], durations: list[Pair], per_key) -> dict[tuple[str, str], Stats]:
    total = sum(ns * w for ns, w in durations)
    out = {}
    for key, on_path in per_key.items():
        full = [on_path.get(i, (0, w)) for i, w in enumerate(weights)]
        out[key] = Stats(weighted_percentile(full, 0.5), weighted_percentile(full, 0.95),
                         sum(ns * w for ns, w in on_path.values()) / total if total > 0 else 0.0,
                         len(on_path), sum(w for _, w in on_path.values()))
    return out


def durations_of(pairs: list[Pair]) -> Durations:
    """The window's figures from the analyzed traces alone (when no SQL figures are given)."""
    return Durations(len(pairs), sum(w for _, w in pairs), weighted_percentile(pairs, 0.5),
                     weighted_percentile(pairs, 0.95), weighted_percentile(pairs, 0.99),
                     percentile(sorted(ns for ns, _ in pairs), 0.5))


def aggregate(service: str, operation: str, current: Iterable[Sequence[SpanRecord]],
              previous: Iterable[Sequence[SpanRecord]], window: tuple,
              previous_window: tuple, max_traces: int = DEFAULT_MAX_TRACES) -> EndpointBottlenecks:
    """The endpoint analysis from the traces in hand (pure). ``window`` and
    ``previous_window`` are (start_ns, end_ns, total_traces, capped[, Durations]): without
    ``Durations`` the figures are computed from the traces in hand."""
    w_now, d_now, k_now = contributions(current)
    w_before, d_before, k_before = contributions(previous)
    now_stats, before_stats = _stats(w_now, d_now, k_now), _stats(w_before, d_before, k_before)
    rows = [Contribution(service_name, op, stats,
                         before_stats.get((service_name, op)) if w_before else None)
            for (service_name, op), stats in now_stats.items()]
    if w_before:  # on the path before, gone now: a zero row shows the change
        zero = Stats(0.0, 0.0, 0.0, 0)
        rows += [Contribution(s, op, zero, stats) for (s, op), stats in before_stats.items()
                 if (s, op) not in now_stats]
    rows.sort(key=lambda r: (-r.current.median_ns, -r.current.share, -r.current.p95_ns,
                             r.service, r.operation))

    def win(spec, durations: list[Pair]) -> Window:
        start, end, total, capped, *rest = spec
        figures = rest[0] if rest and rest[0] is not None else durations_of(durations)
        return Window(start, end, len(durations), max(total, figures.stored, len(durations)),
                      capped, figures.median_ns, figures.estimated, figures.p95_ns,
                      figures.p99_ns, figures.stored_median_ns)

    return EndpointBottlenecks(service, operation, max_traces, win(window, d_now),
                               win(previous_window, d_before), tuple(rows))


def _sql(name: str, tables: Tables) -> str:
    return render("spanhouse.analysis", name, **tables.fragments)


def _endpoint_window(store: AnalysisReader, tables: Tables, service: str, operation: str,
                     start_ns: int, end_ns: int, max_traces: int
                     ) -> tuple[list[list[SpanRecord]], tuple]:
    """(the spans of the endpoint's newest traces in the window, the window's spec:
    (start_ns, end_ns, stored traces, capped, Durations))."""
    params = {"service": service, "operation": operation, "start": start_ns, "end": end_ns}
    stored, estimated, q, stored_median = store.rows(
        _sql("bottleneck_endpoint_stats.sql", tables), params,
        "measuring the endpoint's traces")[0]
    q = list(q) if stored else [0.0, 0.0, 0.0]
    figures = Durations(int(stored), float(estimated or 0.0), float(q[0]), float(q[1]),
                        float(q[2]), float(stored_median or 0.0) if stored else 0.0)
    rows = store.rows(_sql("bottleneck_endpoint_traces.sql", tables),
                      {**params, "limit": max_traces}, "finding the endpoint's traces")
    ids = list(dict.fromkeys(row[0] for row in rows))
    spec = (start_ns, end_ns, int(stored), int(stored) > len(ids), figures)
    if not ids:
        return [], spec
    spans: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in ids}
    for (trace_id, span_id, parent, service_name, name, kind, start, duration,
         weight) in store.rows(_sql("bottleneck_endpoint_spans.sql", tables), {"ids": ids},
                               "reading the endpoint's traces"):
        spans[trace_id].append(SpanRecord(
            trace_id=trace_id, span_id=span_id, parent_span_id=parent, trace_state="", flags=0,
            name=name, kind=parse_span_kind(kind), service_name=service_name,
            start_ns=int(start), duration_ns=max(int(duration), 0), status_code=StatusCode.UNSET,
            status_message="", adjusted_count=float(weight)))
    return [spans[trace_id] for trace_id in ids if spans[trace_id]], spec


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
    now, spec = _endpoint_window(store, tables, service, operation, start_ns, end_ns,
                                 max_traces)
    if start_ns > 0:
        before, spec_before = _endpoint_window(store, tables, service, operation, prev_start,
                                               prev_end, max_traces)
    else:
        before, spec_before = [], (prev_start, prev_end, 0, False,
                                   Durations(0, 0.0, 0.0, 0.0, 0.0, 0.0))
    return aggregate(service, operation, now, before, spec, spec_before, max_traces)


