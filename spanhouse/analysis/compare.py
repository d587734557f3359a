"""Compare: what is different about slow or failing traces.

A **selection** of the traces of a window (``parse_where``: ``duration>p95``, ``duration>1.5s``,
``error``) is compared with the **baseline**, the window's other traces. Both groups can be
narrowed to the traces whose root (else earliest) span has a given service / operation. For
every attribute value (``key=value`` of span AND resource attributes, ``span.name`` as
``service: name``, ``service.version`` as ``service@version``) the traces of each group that
have it are counted, weighted by their adjusted count (sampling-aware: a trace kept at 5%
weighs 20; a trace's weight is its root's adjusted count, else its largest), and the shares of
the two groups are compared.

Definitions (``spanhouse.query.model`` conventions): the window's traces are the traces with a
span in ``[start_ns, end_ns]``, and only those spans count (their attributes, the trace's
duration and weight). A trace's duration is its root span's, else last end - first start. A
percentile (``duration>p95``) is the weighted percentile of the durations of the window's
traces that have a root span in the window (the root carries the trace's duration and weight,
so no per-trace aggregation is needed; only when the window has no root span at all are the
root-less traces measured), after the service/operation narrowing; the selection is every
trace (rooted or not) strictly above it.

Ranking: only over-represented values (share in selection > share in baseline) held by at least
``min(3, selected traces considered)`` selected traces; best first by the difference of the
shares, then by lift (share in selection / share in baseline; ``None`` = infinite: absent from
the baseline), then key and value. Keys with unbounded cardinality (ids: more than 10 distinct
values that average under two traces each, e.g. ``order.id``) are skipped.

Signal before noise (``rank``): status messages (``status.message``) and the types of
exceptions recorded as span events (``exception.type``) are compared like attributes; a value
said by two spellings of one attribute (``http.method`` / ``http.request.method``: ``ALIASES``,
old and new semantic conventions) is one row (``merged_keys``); identifiers (keys such as
``service.instance.id`` or ``*.id``, values such as UUIDs, long hex or digit strings) are
``signal: "low"`` and ranked after every other row.

Scale: everything runs in SQL, at most three queries (the percentile, the group sizes, the
pairs), each restricted to the window first. When a group holds more than ``max_traces``
traces (default 20,000), the pairs are counted over a deterministic sample of it: the traces
with the smallest ``cityHash64(TraceId)``; shares are the sample's, counts are scaled to the
whole group (``CompareResult.sampled`` and ``considered_*`` say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from spanhouse.analysis.compare_rank import ALIASES, is_identifier, rank  # noqa: F401 (API)
from spanhouse.analysis.store import AnalysisReader
from spanhouse.errors import InvalidInput
from spanhouse.query.model import rfc3339
from spanhouse.query.sqlutil import Tables, check_text, check_window
from spanhouse.sqlfiles import render
from spanhouse.timeparse import parse_duration

PERCENTILES = (50, 75, 90, 95, 99)
WHERE_FORMS = ("duration>p50, duration>p75, duration>p90, duration>p95, duration>p99 (the "
               "slowest traces of the window), duration>DURATION (a Go duration such as 1.5s "
               "or 250ms) or error (traces with an error span)")
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_TRACES = 20_000            # traces per group whose attributes are counted (a sample beyond)
MIN_SUPPORT = 3                # selected traces a value must be found in
MAX_KEY_VALUES = 10            # a key with more values, averaging < 2 traces each, is an id
HASH_MAX = 2 ** 64 - 1
_NS_PER_MS = 1_000_000

# Fixed fragments (constants only; every caller value is a bound parameter).
_SELECTED = {"duration": "duration > {threshold:Int64}", "error": "has_error"}
_ROOT_SERVICE = " AND root_service = {service:String}"
_ROOT_OPERATION = " AND root_operation = {operation:String}"
_ROOT_SPAN_SERVICE = " AND ServiceName = {service:String}"
_ROOT_SPAN_OPERATION = " AND SpanName = {operation:String}"
_SAMPLE_FILTER = " AND cityHash64(TraceId) IN {sample:Array(UInt64)}"
PAIRS = (
    ",\n    groupUniqArrayArray(arrayConcat("
    "arrayMap((k, v) -> (toString(k), v), mapKeys(SpanAttributes), mapValues(SpanAttributes)), "
    "arrayMap((k, v) -> (toString(k), if(k = 'service.version', "
    "concat(toString(ServiceName), '@', v), v)), "
    "mapKeys(ResourceAttributes), mapValues(ResourceAttributes)), "
    "[('span.name', concat(toString(ServiceName), ': ', toString(SpanName)))], "
    "arrayFilter(p -> p.2 != '', [('status.message', StatusMessage)]), "
    "arrayMap(t -> ('exception.type', t), arrayFilter(t -> t != '', "
    "arrayMap((n, a) -> if(n = 'exception', a['exception.type'], ''), "
    "Events.Name, Events.Attributes))))) AS pairs")


# ------------------------------------------------------------------------------ selection
@dataclass(frozen=True)
class Selection:
    """What ``--where`` selects: ``kind`` "percentile" (``percentile`` = 95 for
    ``duration>p95``), "duration" (``threshold_ns``) or "error". ``text`` is the canonical
    spelling (``duration>p95``, ``duration>1.5s``, ``error``)."""

    kind: Literal["percentile", "duration", "error"]
    text: str
    percentile: int | None = None
    threshold_ns: int | None = None

    def describe(self, threshold_ns: int | None = None) -> str:
        if self.kind == "error":
            return "traces with an error"
        if self.kind == "percentile":
            above = f" ({_format_ms(threshold_ns / _NS_PER_MS)})" if threshold_ns is not None else ""
            return f"traces slower than p{self.percentile}{above}"
        return f"traces slower than {self.text.partition('>')[2]}"


_PERCENTILE = re.compile(r"^p(\d{1,3})$")


def parse_where(text) -> Selection:
    """``duration>pNN`` (NN in ``PERCENTILES``), ``duration>DURATION`` (Go duration) or ``error``;
    spaces around ``>`` are allowed, case is not significant. Anything else: ``InvalidInput``
    listing the accepted forms."""
    if not isinstance(text, str):
        raise InvalidInput(f"where: expected text, one of: {WHERE_FORMS}")
    raw = text.strip()
    if len(raw) > 64 or not raw:
        raise InvalidInput(f"where: {_show(raw)} is not a selection; expected {WHERE_FORMS}")
    lowered = raw.lower()
    if lowered == "error":
        return Selection("error", "error")
    subject, sep, bound = (part.strip() for part in lowered.partition(">"))
    if subject != "duration" or not sep or not bound or ">" in bound or "=" in bound:
        raise InvalidInput(f"where: {_show(raw)} is not a selection; expected {WHERE_FORMS}")
    percentile = _PERCENTILE.match(bound)
    if percentile:
        value = int(percentile.group(1))
        if value not in PERCENTILES:
            raise InvalidInput(f"where: p{value} is not offered; use one of "
                               + ", ".join(f"p{p}" for p in PERCENTILES))
        return Selection("percentile", f"duration>p{value}", percentile=value)
    try:
        if bound.startswith(("-", "+")):
            raise InvalidInput("signed")
        threshold = parse_duration(bound, "where")
    except InvalidInput:
        raise InvalidInput(f"where: {_show(raw)} is not a selection; expected {WHERE_FORMS}") from None
    return Selection("duration", f"duration>{bound}", threshold_ns=threshold)


def _show(value: str) -> str:
    return repr(value[:64]) if value else "an empty value"


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class AttributeDiff:
    key: str
    value: str
    share_selection: float        # weighted share of the selection's traces that have it
    share_baseline: float
    count_selection: float        # estimated traces of the selection that have it
    count_baseline: float
    traces_selection: int         # stored (sampled) traces of the selection that have it
    traces_baseline: int
    lift: float | None            # share_selection / share_baseline; None: not in the baseline
    signal: Literal["high", "low"] = "high"     # low: an identifier (ranked last)
    merged_keys: tuple[str, ...] = ()           # every spelling of the key that said the value

    @property
    def difference(self) -> float:
        return self.share_selection - self.share_baseline

    @property
    def kind(self) -> str:
        return {"status.message": "status_message",
                "exception.type": "exception.type"}.get(self.key, "attribute")

    def to_json(self) -> dict:
        return {"key": self.key, "value": self.value,
                "share_selection": round(self.share_selection, 6),
                "share_baseline": round(self.share_baseline, 6),
                "difference": round(self.difference, 6),
                "lift": None if self.lift is None else round(self.lift, 4),
                "count_selection": round(self.count_selection, 3),
                "count_baseline": round(self.count_baseline, 3),
                "traces_selection": self.traces_selection,
                "traces_baseline": self.traces_baseline,
                "kind": self.kind, "signal": self.signal,
                "merged_keys": list(self.merged_keys or (self.key,))}



@dataclass(frozen=True)
class GroupStats:
    traces: int                   # stored traces of the group in the window
    estimated: float              # their summed adjusted counts
    considered: int               # traces whose attributes were counted (<= max_traces)
    considered_estimated: float

    def to_json(self) -> dict:
        return {"traces": self.traces, "estimated_traces": round(self.estimated, 3),
                "considered_traces": self.considered}


@dataclass(frozen=True)
class CompareResult:
    selection: Selection
    start_ns: int
    end_ns: int
    service: str | None
    operation: str | None
    threshold_ns: int | None      # the duration bound of a duration selection
    selected: GroupStats
    baseline: GroupStats
    attributes: tuple[AttributeDiff, ...]
    max_traces: int = MAX_TRACES
    min_support: int = MIN_SUPPORT

    @property
    def sampled(self) -> bool:
        return (self.selected.considered < self.selected.traces
                or self.baseline.considered < self.baseline.traces)

    def to_json(self) -> dict:
        return {
            "selection": {"where": self.selection.text,
                          "description": self.selection.describe(self.threshold_ns),
                          "threshold_ms": (None if self.threshold_ns is None
                                           else round(self.threshold_ns / _NS_PER_MS, 3)),
                          **self.selected.to_json()},
            "baseline": self.baseline.to_json(),
            "start": rfc3339(self.start_ns), "end": rfc3339(self.end_ns),
            "service": self.service, "operation": self.operation,
            "sampled": self.sampled, "max_traces_per_group": self.max_traces,
            "min_support": self.min_support,
            "attributes": [a.to_json() for a in self.attributes],
        }


# ------------------------------------------------------------------------------ SQL
def _trace(tables: Tables, root_filter: str, pairs: str = "", span_filter: str = "") -> str:
    """The per-trace subquery (``compare_trace.sql``)."""
    return render("spanhouse.analysis", "compare_trace.sql", **tables.fragments,
                  root_filter=root_filter, pairs=pairs, span_filter=span_filter)


def _render(name: str, tables: Tables, trace: str, **fragments: str) -> str:
    return render("spanhouse.analysis", name, **{**tables.fragments, "trace": trace, **fragments})


def _check_limit(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


def _group(rows, sel: bool) -> tuple[GroupStats, int, list[int]]:
    """A group's stats from step 2, its hash bound (the sample's largest hash) and the
    sample's hashes."""
    for row_sel, traces, estimated, sample in rows:
        if bool(row_sel) == sel:
            bound = HASH_MAX if len(sample) >= traces else max(h for h, _ in sample)
            return (GroupStats(int(traces), float(estimated), len(sample),
                               float(sum(w for _, w in sample))), bound,
                    [int(h) for h, _ in sample])
    return GroupStats(0, 0.0, 0, 0.0), 0, []


def compare(store: AnalysisReader, selection: Selection | str, start_ns: int, end_ns: int,
            service: str | None = None, operation: str | None = None,
            limit: int = DEFAULT_LIMIT, *, max_traces: int = MAX_TRACES) -> CompareResult:
    """The attribute values most over-represented in ``selection`` against the other traces
    of the window (see the module docstring), at most ``limit``. Bad values raise
    ``InvalidInput``; a store failure ``StoreError``."""
    if isinstance(selection, str):
        selection = parse_where(selection)
    if not isinstance(selection, Selection):
        raise InvalidInput("selection must be a Selection (see parse_where)")
    start_ns, end_ns = check_window(start_ns, end_ns)
    limit = _check_limit(limit)
    if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
        raise InvalidInput(f"max_traces must be a whole number >= 1, not {max_traces!r}")
    params: dict[str, Any] = {"start": start_ns, "end": end_ns}
    root_filter = root_span_filter = ""
    if service is not None:
        params["service"] = check_text(service, "service")
        root_filter += _ROOT_SERVICE
        root_span_filter += _ROOT_SPAN_SERVICE
    if operation is not None:
        params["operation"] = check_text(operation, "operation")
        root_filter += _ROOT_OPERATION
        root_span_filter += _ROOT_SPAN_OPERATION

    def result(threshold, selected=GroupStats(0, 0.0, 0, 0.0), baseline=GroupStats(0, 0.0, 0, 0.0),
               attributes=(), min_support=MIN_SUPPORT) -> CompareResult:
        return CompareResult(selection, start_ns, end_ns, service, operation, threshold,
                             selected, baseline, tuple(attributes), max_traces, min_support)

    tables = store.tables()
    threshold = selection.threshold_ns
    if selection.kind == "percentile":
        level = {**params, "level": selection.percentile / 100}
        sql = _render("compare_threshold_roots.sql", tables, "",
                      root_span_filter=root_span_filter)
        rows = store.rows(sql, level, "compare (percentile)")
        if not rows or not rows[0][1]:     # no root span in the window: every trace
            sql = _render("compare_threshold.sql", tables, _trace(tables, root_filter))
            rows = store.rows(sql, level, "compare (percentile)")
        value, traces = rows[0] if rows else (0, 0)
        if not traces:
            return result(None)
        threshold = int(value)
    selected_sql = _SELECTED["error" if selection.kind == "error" else "duration"]
    if threshold is not None:
        params["threshold"] = min(threshold, 2 ** 63 - 1)
    rows = store.rows(_render("compare_groups.sql", tables, _trace(tables, root_filter),
                              selected=selected_sql),
                      {**params, "cap": max_traces}, "compare (groups)")
    selected, bound_sel, hashes_sel = _group(rows, True)
    baseline, bound_base, hashes_base = _group(rows, False)
    min_support = min(MIN_SUPPORT, selected.considered) or MIN_SUPPORT
    if (not selected.considered or not baseline.considered
            or selected.considered_estimated <= 0 or baseline.considered_estimated <= 0):
        return result(threshold, selected, baseline, min_support=min_support)

    span_filter = ""
    pair_params: dict[str, Any] = {}
    if min(bound_sel, bound_base) < HASH_MAX:
        # a sample: the spans of its traces only (the hashes step 2 returned, bound:
        # no second pass over the window to find them again)
        span_filter = _SAMPLE_FILTER
        pair_params["sample"] = sorted(hashes_sel + hashes_base)
    trace = _trace(tables, root_filter, pairs=PAIRS, span_filter=span_filter)
    pair_params = {**params, **pair_params,
                   "min_support": min_support,
                   "max_values": MAX_KEY_VALUES,
                   "total_sel": selected.considered_estimated,
                   "total_base": baseline.considered_estimated,
                   "rows": limit * 4 + 50}
    sql = _render("compare_pairs.sql", tables, trace, selected=selected_sql)
    rows = store.rows(sql, pair_params, "compare (attributes)")

    diffs = []
    for key, value, w_sel, w_base, n_sel, n_base in rows:
        share_sel = float(w_sel) / selected.considered_estimated
        share_base = float(w_base) / baseline.considered_estimated
        if share_sel <= share_base:
            continue
        diffs.append(AttributeDiff(
            key=key, value=value, share_selection=share_sel, share_baseline=share_base,
            count_selection=share_sel * selected.estimated,
            count_baseline=share_base * baseline.estimated,
            traces_selection=int(n_sel), traces_baseline=int(n_base),
            lift=share_sel / share_base if share_base > 0 else None))
    return result(threshold, selected, baseline, rank(diffs)[:limit], min_support)


def _format_ms(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


__all__ = ["parse_where", "compare", "Selection", "CompareResult", "AttributeDiff",
           "GroupStats", "WHERE_FORMS", "PERCENTILES", "MAX_TRACES", "ALIASES", "rank",
           "is_identifier"]
