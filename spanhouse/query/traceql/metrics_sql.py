"""The one ClickHouse statement of a TraceQL metrics query (``metrics.py`` runs it and shapes
the rows into series).

Shape: an inner ``GROUP BY`` (the ``by(...)`` values, the step, and for histograms the log2
bucket) computes one value per group and step over the spans of the window; an outer
``GROUP BY`` folds each series' steps into one array and ranks the series (largest estimated
span count first) so that ``LIMIT`` keeps at most ``max_series`` of them, while window
functions over the outer groups report the stored spans read and how many series there were
before the limit. Every caller value (attribute names, literals, times, quantiles) is a bound
parameter; only fixed fragments of this module and of ``sqlexpr`` are formatted in.

Sampling: each stored span stands for ``AdjustedCount`` spans (``Tables.weight``). Counts,
rates, sums and histogram counts add the weights; averages are weighted means
(``sum(x*w) / sum(w)``); quantiles are exact weighted quantiles
(``quantilesExactWeighted``: exact and deterministic, so known answers can be tested and
small data sets are not smoothed, at the cost of one hash entry per distinct value and group;
its weight is an integer, ``round(AdjustedCount)``, at least 1 -- the adjusted counts of
probabilistic and tail sampling are whole numbers or close to them). ``min_over_time`` and
``max_over_time`` are not weighted: an extreme of the kept spans is an extreme, not an
estimate (Tempo leaves them unscaled too).
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import WEIGHT_COLUMN, WINDOW, Tables
from spanhouse.query.traceql import ast, sqlexpr

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
# Fields whose values are nanoseconds: Tempo reports them (and their buckets) in seconds.
DURATION_FIELDS = ("duration", "traceDuration")
# Fields the traces table keeps in a column of their own (ServiceName is the exporter's copy
# of the resource's service.name, '' when absent): grouping by the column reads a few bytes
# per span instead of the resource attribute map.
_SERVICE_NAME = ast.Attribute(ast.RESOURCE, "service.name")
MAX_SPANSET_OPERATIONS = 4     # && / || between spansets: the SQL doubles with each &&
_ERRORS = ast.SpansetFilter(ast.BinaryOperation(
    "=", ast.Intrinsic("status"), ast.Static(ast.STATUS, "error")))
_ERROR_TABLE_FIELDS = (_SERVICE_NAME, ast.Intrinsic("name"))


@dataclass(frozen=True)
class Window:
    """Which spans (start time in [first_ns, last_ns], inclusive) and how they map to steps:
    ``origin_ns``/``step_ns`` for a range query (a span at t falls in the step
    (origin + k*step, origin + (k+1)*step] and is reported at its right end, as Tempo's
    ``IntervalMapperQueryRange``), or ``step_ns`` None and one sample at ``instant_ms``."""

    first_ns: int
    last_ns: int
    step_ns: int | None
    origin_ns: int
    instant_ms: int
    rate_per_s: float        # 1 / (step or range, in seconds): rate()'s multiplier


@dataclass(frozen=True)
class Group:
    label: str              # Tempo's name of the field, the series label
    numeric: bool           # the column ``__k{i}`` says whether the value is a number


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: dict[str, object]
    groups: tuple[Group, ...]
    seconds: bool           # the measured field is a duration: values and buckets in seconds


def _measured(fn: str, attr, params: sqlexpr.Params) -> tuple[str, bool]:
    """(Nullable(Float64) SQL of the measured field, is it nanoseconds)."""
    if attr is None:
        raise InvalidInput(f"{fn}() needs a field, e.g. {fn}(duration)")
    if isinstance(attr, ast.Intrinsic) and attr.name in DURATION_FIELDS:
        sql, _kind = sqlexpr.value(attr, params)
        return sql, True
    return sqlexpr.numeric(attr, params), False


def _group_columns(by, params: sqlexpr.Params, typed: bool) -> tuple[list[str], list[Group]]:
    """SELECT items ``__g{i}`` (the value, NULL when absent) and ``__k{i}`` (1 for a number).
    ``typed``: the table has Spanhouse's attribute type columns (a table the collector's
    exporter created has neither them nor AdjustedCount): without them every attribute value
    is the exporter's string."""
    items, groups = [], []
    for i, expr in enumerate(by):
        if expr == _SERVICE_NAME:
            # (an empty service.name is read as a missing one: the column cannot tell them apart)
            sql, numeric = "nullIf(ServiceName, '')", "0"
        elif isinstance(expr, ast.Attribute):
            sql = sqlexpr.value(expr, params)[0]
            numeric = f"isNotNull({sqlexpr.numeric(expr, params)})" if typed else "0"
        else:
            sql, kind = sqlexpr.value(expr, params)
            numeric = "1" if kind == "number" else "0"
        items += [f"{sql} AS __g{i}", f"{numeric} AS __k{i}"]
        groups.append(Group(sqlexpr.label(expr), numeric != "0"))
    return items, groups


def _log2_bucket(raw: str) -> str:
    """Tempo's ``Log2Bucketize``: the smallest power of two >= the value (values >= 2). The
    float log2 is off by one power near large powers of two, so the result is corrected in
    integers."""
    guess = f"toUInt64(exp2(ceil(log2(toUInt64({raw})))))"
    return (f"multiIf({guess} < toUInt64({raw}), {guess} * 2, "
            f"intDiv({guess}, 2) >= toUInt64({raw}), intDiv({guess}, 2), {guess})")


def _aggregate(metrics: ast.MetricsAggregate, weight: str, params: sqlexpr.Params,
               window: Window) -> tuple[str, list[str], str | None, bool]:
    """(inner value SQL, extra WHERE conditions, histogram bucket SQL or None, seconds)."""
    fn = metrics.fn
    if fn in ("rate", "count_over_time"):
        if metrics.attribute is not None:
            raise InvalidInput(f"{fn}() takes no field")
        if fn == "count_over_time":
            return f"sum({weight})", [], None, False
        return f"sum({weight}) * {params.add(window.rate_per_s, 'Float64')}", [], None, False
    raw, seconds = _measured(fn, metrics.attribute, params)
    value = f"({raw} / {NS_PER_S})" if seconds else raw
    present = [f"isNotNull({raw})"]
    if fn == "min_over_time":
        return f"min({value})", present, None, seconds
    if fn == "max_over_time":
        return f"max({value})", present, None, seconds
    if fn == "sum_over_time":
        return f"sum({value} * {weight})", present, None, seconds
    if fn == "avg_over_time":
        return f"sum({value} * {weight}) / sum({weight})", present, None, seconds
    if fn == "quantile_over_time":
        levels = ", ".join(params.add(float(q), "Float64") for q in metrics.quantiles)
        integer_weight = f"toUInt64(greatest(round({weight}), 1))"
        return (f"quantilesExactWeighted({levels})({value}, {integer_weight})", present, None,
                seconds)
    if fn == "histogram_over_time":
        # Tempo drops values below 2 (no log2 bucket) and, for attributes, non-integers'
        # fractions (it buckets uint64(value)).
        return f"sum({weight})", present + [f"{raw} >= 2"], _log2_bucket(raw), seconds
    raise InvalidInput(f"unknown metrics function {fn}()")


def filters(spanset) -> list:
    """The field expressions of the spanset filters of a spanset expression, in order."""
    if isinstance(spanset, ast.SpansetFilter):
        return [spanset.expression]
    if isinstance(spanset, ast.Pipeline):
        return [f for stage in spanset.stages for f in filters(stage)]
    return filters(spanset.lhs) + filters(spanset.rhs)


def _spans(spanset, tables: Tables, params: sqlexpr.Params) -> str:
    """A boolean over one row: the span is in the spanset expression's spans. ``{a} || {b}``:
    spans of either; ``{a} && {b}``: spans of either, in traces that have spans of both
    (Tempo's spanset operators, per trace, over the spans of the window). A pipeline of
    them (``{a} && {b} | {c}``): the first stage's spans that the later filters keep."""
    if isinstance(spanset, ast.SpansetFilter):
        return sqlexpr.condition(spanset.expression, params)
    if isinstance(spanset, ast.Pipeline):
        return " AND ".join(f"({_spans(stage, tables, params)})" for stage in spanset.stages)
    lhs, rhs = _spans(spanset.lhs, tables, params), _spans(spanset.rhs, tables, params)
    either = f"(({lhs}) OR ({rhs}))"
    if spanset.op == "||":
        return either
    traces = []
    for side, sql in ((spanset.lhs, lhs), (spanset.rhs, rhs)):
        joined = any(sqlexpr.uses_trace_fields(f) for f in filters(side))
        source = (tables.traces + sqlexpr.trace_join(tables) + f" WHERE {WINDOW} AND "
                  if joined else f"{tables.traces} PREWHERE {WINDOW} WHERE ")
        traces.append(f"TraceId IN (SELECT TraceId FROM {source}({sql}))")
    return f"({either} AND {' AND '.join(traces)})"


def error_spans_suffice(tables: Tables, spanset, metrics: ast.MetricsAggregate) -> bool:
    """Whether the entry/error spans table answers the query: ``{ status = error }`` with
    ``by`` and the measured field among the columns it copies (ServiceName, SpanName,
    Duration). Its materialized view keeps every error span with the same test as
    ``sqlutil.IS_ERROR`` and ``Weight`` = AdjustedCount, so the answer is the same; the
    error range is contiguous in its sort order, so the query reads a few error spans instead
    of the status of every span of the window."""
    return (tables.entry_error is not None and spanset == _ERRORS
            and all(b in _ERROR_TABLE_FIELDS for b in metrics.by)
            and metrics.attribute in (None, ast.Intrinsic("duration")))


def build(tables: Tables, spanset, metrics: ast.MetricsAggregate, window: Window,
          max_series: int) -> Statement:
    """The statement for the spans of ``spanset`` (a ``SpansetFilter``, or ``&&`` / ``||`` of
    them, as ``metrics.spanset_of`` checked)."""
    params = sqlexpr.Params("m")
    errors_only = error_spans_suffice(tables, spanset, metrics)
    condition = "1" if errors_only else _spans(spanset, tables, params)
    weight = "Weight" if errors_only else tables.weight
    group_items, groups = _group_columns(metrics.by, params, tables.weight == WEIGHT_COLUMN)
    value, extra, bucket, seconds = _aggregate(metrics, weight, params, window)
    if window.step_ns is None:
        ts = params.add(window.instant_ms, "Int64")
    else:
        origin, step = params.add(window.origin_ns, "Int64"), params.add(window.step_ns, "Int64")
        ts = (f"intDiv({origin} + intDiv(toUnixTimestamp64Nano(Timestamp) - {origin} + {step} - 1, "
              f"{step}) * {step}, {NS_PER_MS})")
    keys = [f"__g{i}" for i in range(len(groups))] + [f"__k{i}" for i in range(len(groups))]
    inner_items = group_items + [f"{ts} AS __ts"]
    if bucket is not None:
        inner_items.append(f"{bucket} AS __hb")
        keys.append("__hb")
    inner_items += [f"{value} AS __v", "count() AS __stored", f"sum({weight}) AS __w"]

    fields = [*filters(spanset), *metrics.by, metrics.attribute]
    joined = any(sqlexpr.uses_trace_fields(f) for f in fields if f is not None)
    source = tables.traces
    if errors_only:
        source = f"{tables.entry_error} PREWHERE IsError = 1 AND {WINDOW} WHERE "
    elif joined:
        # The join's own subqueries bind {start}/{end}; PREWHERE does not go with a JOIN.
        source += sqlexpr.trace_join(tables) + f" WHERE {WINDOW} AND "
    else:
        source += f" PREWHERE {WINDOW} WHERE "
    where = " AND ".join([f"({condition})", *extra])
    inner = (f"SELECT {', '.join(inner_items)} FROM {source}{where} "
             f"GROUP BY {', '.join(keys + ['__ts'])}")
    outer_keys = ", ".join(keys) if keys else ""
    outer = (f"SELECT {outer_keys + ', ' if keys else ''}"
             "arraySort(groupArray((__ts, __v))) AS __points, sum(__w) AS __weight, "
             "sum(sum(__stored)) OVER () AS __all_stored, count() OVER () AS __all_series "
             f"FROM ({inner})"
             + (f" GROUP BY {outer_keys}" if keys else "")
             + f" ORDER BY __weight DESC{', ' + outer_keys if keys else ''}"
             + f" LIMIT {params.add(max_series, 'UInt32')}")
    parameters = dict(params.values, start=window.first_ns, end=window.last_ns)
    return Statement(outer, parameters, tuple(groups), seconds)
