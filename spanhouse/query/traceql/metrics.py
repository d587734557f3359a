"""TraceQL metrics (``{ ... } | rate() by (...)``), sampling-aware, computed in ClickHouse.

``run_metrics`` answers a metrics query with one SQL statement (``metrics_sql.build``);
``metrics_sql`` returns that statement for ``explain``. Semantics follow Tempo's
``pkg/traceql`` (``engine_metrics.go``, ``ast_metrics.go``, ``engine_metrics_average.go``) and
its query frontend (``modules/frontend``), since Tempo 2.10:

- Range query (``step_ns``): the request is aligned as Tempo's ``AlignRequest`` (start rounded
  down to a step, then one more step before it; end rounded up to a step). Steps are
  right-closed, ``(t - step, t]``, by span start time, and each sample is stamped ``t`` (the
  right end) in milliseconds. Steps with no spans are left out (Tempo sends 0 for counts and
  rates there; ``results.Series`` leaves empty steps out).
- Instant query (``step_ns`` None): the spans that start in [start, end], one sample stamped
  ``end``; ``rate()`` divides by the whole range.
- ``rate()`` is spans per second of the step; ``count_over_time()`` spans per step;
  ``min/max/sum/avg_over_time(field)``; ``quantile_over_time(field, q...)`` one series per
  quantile with the label ``p``; ``histogram_over_time(field)`` one series per log2 bucket
  with the label ``__bucket`` (the bucket's upper bound, Tempo's ``Log2Bucketize``).
  ``duration`` and ``traceDuration`` (values and buckets) are in seconds, as Tempo's.
  Tempo's quantiles are interpolated from log2 buckets; these are exact weighted quantiles.
- Labels: without ``by``, ``__name__`` = the function (``rate``, ...), except quantiles and
  histograms, which carry only ``p`` / ``__bucket``. With ``by``, one ``(label, value)`` per
  field that has a value (a missing one is left out; all missing: the first field with None),
  as Tempo's ``GroupingAggregator.labelsFor``. Attribute values that are numbers come back as
  int or float, others as strings.
- Sampling: every stored span counts as its ``AdjustedCount`` (see ``metrics_sql``).
  ``MetricsResult.sampling_aware`` says whether the table has that column (a table created by
  the collector's exporter has not: every span counts 1); ``inspected_spans`` is the number
  of stored spans that matched.

Limits (``InvalidInput``): end must be after start; the step must be a whole number of
nanoseconds > 0 and give at most ``MAX_STEPS`` steps (Tempo's ``max_intervals`` default);
at most ``MAX_BY`` fields in ``by`` (Tempo's ``maxGroupBys``) and ``MAX_QUANTILES`` quantiles,
each in [0, 1]. Past ``MAX_SERIES`` series the ones with the largest estimated span count are
kept and ``MetricsResult.truncated`` is set (Tempo returns a partial response with a message).

Which spans: the spanset part is a spanset filter ``{ ... }`` (``{ }``: every span), or ``&&``
/ ``||`` between them (``{a} && {b}``: the spans of either, in traces of the window that have
spans of both; ``{a} || {b}``: the spans of either), optionally followed by ``| { ... }``
stages (which keep the spans they match). Structural operators and other pipeline stages
before the metrics function are refused with ``InvalidInput`` naming them. Query hints
(``with (...)``) are accepted and ignored: every matching span is read, there is no sampling
to ask for. Exemplars are not returned.
"""

from __future__ import annotations

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import INT64_MAX, WEIGHT_COLUMN
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.metrics_sql import (
    MAX_SPANSET_OPERATIONS, NS_PER_MS, NS_PER_S, Statement, Window, build, filters,
)
from spanhouse.query.traceql.results import MetricsResult, Series

MAX_STEPS = 10_000
MAX_SERIES = 1_000
MAX_BY = 5
MAX_QUANTILES = 20
# Label of the unnamed series, as Prometheus' (Tempo: model.MetricNameLabel).
NAME_LABEL = "__name__"
BUCKET_LABEL, QUANTILE_LABEL = "__bucket", "p"


# ----------------------------------------------------------------------------- the query
def _describe(stage) -> str:
    if isinstance(stage, ast.SpansetOperation):
        kind = "structural operator" if stage.op in ast.STRUCTURAL else "spanset operator"
        return f"{kind} {stage.op!r}"
    names = {ast.ScalarFilter: "a scalar filter (| count() > n)", ast.GroupBy: "| by(...)",
             ast.Select: "| select(...)", ast.Coalesce: "| coalesce()",
             ast.Pipeline: "a nested pipeline"}
    return names.get(type(stage), type(stage).__name__)


def spanset_of(pipeline: ast.Pipeline):
    """The query's spanset expression: spanset filters with ``&&`` / ``||`` between them (at
    most ``MAX_SPANSET_OPERATIONS``), optionally followed by ``| { ... }`` filters (then a
    ``Pipeline`` of them); parentheses around them are dropped."""
    stages = pipeline.stages
    while len(stages) == 1 and isinstance(stages[0], ast.Pipeline):
        stages = stages[0].stages          # ( { ... } ) is the filter itself
    for stage in stages[1:]:
        if not isinstance(stage, ast.SpansetFilter):
            _refuse(stage)
    first = _spanset(stages[0])
    spanset = first if len(stages) == 1 else ast.Pipeline((first, *stages[1:]))
    if len(filters(first)) - 1 > MAX_SPANSET_OPERATIONS:
        raise InvalidInput(f"metrics queries take at most {MAX_SPANSET_OPERATIONS} && / || "
                           f"between spansets")
    return spanset


def _refuse(stage):
    raise InvalidInput(f"metrics queries support spanset filters {{ ... }}, && and || before "
                       f"the metrics function; {_describe(stage)} is not supported there yet")


def _spanset(stage):
    if isinstance(stage, ast.Pipeline):
        if len(stage.stages) == 1:
            return _spanset(stage.stages[0])
        return spanset_of(stage)                # ({a} | {b}) && {c}
    if isinstance(stage, ast.SpansetFilter):
        return stage
    if isinstance(stage, ast.SpansetOperation) and stage.op in ast.SPANSET_LOGICAL:
        return ast.SpansetOperation(stage.op, _spanset(stage.lhs), _spanset(stage.rhs))
    _refuse(stage)


def _check_metrics(metrics: ast.MetricsAggregate | None) -> ast.MetricsAggregate:
    if metrics is None:
        raise InvalidInput("not a metrics query: add a metrics function, e.g. | rate()")
    if metrics.fn not in ast.METRICS:
        raise InvalidInput(f"unknown metrics function {metrics.fn}(); "
                           f"supported: {', '.join(ast.METRICS)}")
    if len(metrics.by) > MAX_BY:
        raise InvalidInput(f"by(...) takes at most {MAX_BY} fields, not {len(metrics.by)}")
    if metrics.fn == "quantile_over_time":
        if not metrics.quantiles:
            raise InvalidInput("quantile_over_time(field, q, ...) needs at least one quantile")
        if len(metrics.quantiles) > MAX_QUANTILES:
            raise InvalidInput(f"quantile_over_time takes at most {MAX_QUANTILES} quantiles")
        for q in metrics.quantiles:
            if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1:
                raise InvalidInput(f"quantile {q!r} is not a number from 0 to 1")
    elif metrics.quantiles:
        raise InvalidInput(f"{metrics.fn}() takes no quantiles")
    return metrics


# ----------------------------------------------------------------------------- time
def _ns(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise InvalidInput(f"{what} must be a whole number of nanoseconds >= 0, not {value!r}")
    return value


def _duration_text(ns: int) -> str:
    return f"{ns / NS_PER_S:g}s" if ns >= NS_PER_S else f"{ns / NS_PER_MS:g}ms"


def window_for(start_ns: int, end_ns: int, step_ns: int | None) -> Window:
    """The spans read and the steps, as Tempo's frontend aligns a request (see above)."""
    start, end = _ns(start_ns, "start"), _ns(end_ns, "end")
    if start >= end:
        raise InvalidInput(f"end must be greater than start (start {start}, end {end})")
    if step_ns is None:
        return Window(start, end, None, start, end // NS_PER_MS, NS_PER_S / (end - start))
    step = _ns(step_ns, "step")
    if step == 0:
        raise InvalidInput("step must be greater than 0")
    if (end - start) // step > MAX_STEPS:
        raise InvalidInput(f"step of {_duration_text(step)} is too small, minimum step for "
                           f"given range is {_duration_text((end - start) // MAX_STEPS)}")
    origin = start - start % step
    if origin > step:
        origin -= step          # AlignRequest: "force to have additional initial bucket"
    last = end + (-end % step)
    if last > INT64_MAX:
        raise InvalidInput("end is too far in the future for this step")
    # (origin, last]: the first nanosecond after origin up to last, inclusive.
    return Window(origin + 1, last, step, origin, 0, NS_PER_S / step)


# ----------------------------------------------------------------------------- run
def _statement(reader, query: ast.Query, start_ns: int, end_ns: int,
               step_ns: int | None) -> tuple[Statement, ast.MetricsAggregate, int]:
    metrics = _check_metrics(query.metrics)
    spanset = spanset_of(query.pipeline)
    window = window_for(start_ns, end_ns, step_ns)
    per_row = len(metrics.quantiles) if metrics.fn == "quantile_over_time" else 1
    max_rows = max(1, MAX_SERIES // per_row)
    return build(reader.tables(), spanset, metrics, window, max_rows), metrics, max_rows


def metrics_sql(reader, query: ast.Query, start_ns: int, end_ns: int,
                step_ns: int | None) -> list[str]:
    """The SQL ``run_metrics`` runs for this query (parameters shown as ``{name:Type}``)."""
    return [_statement(reader, query, start_ns, end_ns, step_ns)[0].sql]


def run_metrics(reader, query: ast.Query, start_ns: int, end_ns: int,
                step_ns: int | None) -> MetricsResult:
    """The series of a metrics query over [start, end] (``step_ns`` None: instant query)."""
    statement, metrics, max_rows = _statement(reader, query, start_ns, end_ns, step_ns)
    rows = reader.rows(statement.sql, statement.parameters, f"TraceQL {metrics.fn}()")
    series: list[Series] = []
    inspected = total_rows = 0
    for row in rows:                      # at most max_rows rows: the LIMIT
        inspected, total_rows = int(row[-2]), int(row[-1])
        series.extend(_series(row, statement, metrics))
    return MetricsResult(series=series, sampling_aware=reader.tables().weight == WEIGHT_COLUMN,
                         inspected_spans=inspected, truncated=total_rows > max_rows)


def _label_value(value, numeric: bool):
    if value is None or not numeric:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return float(value)


def _series(row, statement: Statement, metrics: ast.MetricsAggregate) -> list[Series]:
    n = len(statement.groups)
    values, numeric = row[:n], row[n:2 * n]
    labels = [(group.label, _label_value(v, bool(k)))
              for group, v, k in zip(statement.groups, values, numeric) if v is not None]
    if n and not labels:
        labels = [(statement.groups[0].label, None)]      # Tempo: all nil -> first label nil
    points = row[2 * n + (1 if metrics.fn == "histogram_over_time" else 0)]
    if not points:
        return []                         # no spans at all (the ungrouped statement's one row)
    if metrics.fn == "histogram_over_time":
        bucket = row[2 * n]
        bound = bucket / NS_PER_S if statement.seconds else float(bucket)
        return [Series(labels + [(BUCKET_LABEL, bound)], [(ts, float(v)) for ts, v in points])]
    if metrics.fn == "quantile_over_time":
        return [Series(labels + [(QUANTILE_LABEL, float(q))],
                       [(ts, float(v[i])) for ts, v in points])
                for i, q in enumerate(metrics.quantiles)]
    if not n:
        labels = [(NAME_LABEL, metrics.fn)]
    return [Series(labels, [(ts, float(v)) for ts, v in points])]
