"""What a TraceQL search needs from the store: its SQL, built once per query.

A query's spanset filters (``{ ... }`` anywhere in the pipeline) are its *leaves*; each becomes
one condition (``sqlexpr.condition``) evaluated in ClickHouse, so Python only ever sees which
leaves a span matches. The statements (``search.py`` runs them):

1. **Candidates** (``candidates_sql``): the traces of the window with, per leaf, the spans the
   query needs (``HAVING c0 > 0 AND c1 > 0 ...``: a necessary condition, exact for filters
   joined by ``&&``/``||``), newest first, ``LIMIT``/``OFFSET`` bound.
2. **Rows** (``rows_sql``): the candidates' spans that match a leaf, with the values of the
   fields the response shows or the pipeline groups, selects and aggregates; bounded per trace
   and in total.
3. **Tree** (``tree_sql``, structural operators only): the parent links of every span of the
   candidates, from the span graph (time-ordered, small columns) when the store has it.

Both 1 and 2 are a ``UNION ALL`` of one branch per leaf: each branch has its own ``PREWHERE``
(the window, and the leaf's conjuncts on cheap columns: service, name, status, kind,
duration, so that partitions and the primary key ``(ServiceName, SpanName, time)`` prune)
and its own skip indexes (the map bloom filters serve ``span.x = "v"``). One scan with the
leaves ORed would read every attribute map of the window: no index serves both sides of an OR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import WINDOW, Tables
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.sqlexpr import (
    SERVICE_NAME, Params, attribute_type, condition, fields, trace_join, uses_trace_fields,
    value,
)

MAX_SPANS_PER_TRACE = 2000   # rows read per candidate trace (matched counts stop there)
MAX_ROWS = 200_000           # rows read per round, all candidates together
MAX_LEAVES = 64              # spanset filters in one query
SPANS_PER_NEWEST_TRACE = 100  # see _newest_traces_sql
# Cheap columns: a conjunct on these alone may go to PREWHERE.
_CHEAP = {ast.Intrinsic("name"), ast.Intrinsic("status"), ast.Intrinsic("kind"),
          ast.Intrinsic("duration"), SERVICE_NAME}
# Fields a response never repeats in a span's attributes (they are the span's own fields, or
# per trace), as Tempo's asTraceSearchMetadata.
_NOT_SHOWN = {"name", "duration", "traceDuration", "rootServiceName", "rootName", "trace:id",
              "span:id", "parent", "event:name", "link:traceID", "link:spanID"}


@dataclass
class Plan:
    query: ast.Query
    leaves: list = field(default_factory=list)           # field expressions (None: {})
    leaf_index: dict = field(default_factory=dict)        # SpansetFilter -> leaf number
    structural: bool = False     # a structural operator: every span of a candidate is read
    exact: bool = True           # candidates all survive (no structure, no later filters)
    need: str = "1"              # HAVING over c{i} (count of leaf i's spans)
    shown: list = field(default_factory=list)             # fields returned with spans
    selected: list = field(default_factory=list)          # select()'s fields
    extra: list = field(default_factory=list)             # by()/aggregate fields


def plan(query: ast.Query) -> Plan:
    if query.is_metrics:
        raise InvalidInput("a metrics query (| rate() ...) cannot be searched; "
                           "use the metrics endpoints")
    p = Plan(query)
    p.need = _pipeline(p, query.pipeline, first=True)
    for leaf in p.leaves:
        for f in fields(leaf):
            if _shown(f) and f not in p.shown:
                p.shown.append(f)
    return p


def _shown(f) -> bool:
    if isinstance(f, ast.Intrinsic):
        return f.name not in _NOT_SHOWN
    return f.scope not in (ast.EVENT, ast.LINK)


def _leaf(p: Plan, node: ast.SpansetFilter) -> int:
    if node not in p.leaf_index:
        if len(p.leaves) >= MAX_LEAVES:
            raise InvalidInput(f"more than {MAX_LEAVES} spanset filters in one query")
        p.leaf_index[node] = len(p.leaves)
        p.leaves.append(node.expression)
    return p.leaf_index[node]


def _spanset(p: Plan, node) -> str:
    """Registers the leaves of a spanset expression; returns its necessary HAVING condition."""
    if isinstance(node, ast.SpansetFilter):
        return f"c{_leaf(p, node)} > 0"
    if isinstance(node, ast.Pipeline):
        p.exact = False
        return _pipeline(p, node, first=False)
    if isinstance(node, ast.SpansetOperation):
        lhs, rhs = _spanset(p, node.lhs), _spanset(p, node.rhs)
        if node.op == "&&":
            return f"({lhs} AND {rhs})"
        if node.op == "||":
            return f"({lhs} OR {rhs})"
        if node.op not in ast.STRUCTURAL:
            raise InvalidInput(f"spanset operator {node.op} is not supported")
        p.structural, p.exact = True, False
        if node.op.startswith("!"):
            return rhs
        return f"({lhs} AND {rhs})"
    raise InvalidInput(f"{type(node).__name__} cannot start a pipeline")


def _pipeline(p: Plan, pipeline: ast.Pipeline, first: bool) -> str:
    if not pipeline.stages:
        raise InvalidInput("empty pipeline")
    need = _spanset(p, pipeline.stages[0])
    for stage in pipeline.stages[1:]:
        if isinstance(stage, (ast.SpansetFilter, ast.SpansetOperation, ast.Pipeline)):
            p.exact = False
            need = f"({need} AND {_spanset(p, stage)})"
        elif isinstance(stage, ast.ScalarFilter):
            p.exact = False
            for side in (stage.lhs, stage.rhs):
                _aggregates(p, side)
        elif isinstance(stage, ast.GroupBy):
            _extra(p, stage.expression)
        elif isinstance(stage, ast.Select):
            for f in stage.fields:
                _extra(p, f)
                if f not in p.selected:
                    p.selected.append(f)
        elif not isinstance(stage, ast.Coalesce):
            raise InvalidInput(f"pipeline stage {type(stage).__name__} is not supported")
    return need


def _aggregates(p: Plan, node) -> None:
    if isinstance(node, ast.Aggregate):
        if node.fn not in ast.AGGREGATES:
            raise InvalidInput(f"aggregate {node.fn}() is not supported")
        if node.expression is not None:
            _extra(p, node.expression)
        elif node.fn != "count":
            raise InvalidInput(f"{node.fn}() needs a field, e.g. {node.fn}(duration)")
    elif isinstance(node, ast.BinaryOperation):
        _aggregates(p, node.lhs)
        _aggregates(p, node.rhs)
    elif not isinstance(node, ast.Static):
        raise InvalidInput("a scalar filter compares aggregates (count(), avg(...)) and numbers")


def _extra(p: Plan, expr) -> None:
    if expr not in p.extra:
        value(expr, Params())        # refuses what has no single value per span, early
        p.extra.append(expr)


# ----------------------------------------------------------------------------- SQL
def _conjuncts(expr) -> list:
    if isinstance(expr, ast.BinaryOperation) and expr.op == "&&":
        return _conjuncts(expr.lhs) + _conjuncts(expr.rhs)
    return [expr]


def _cheap(leaf, params: Params) -> str | None:
    """The AND of a leaf's conjuncts on cheap columns (None when it has none)."""
    cheap = [c for c in _conjuncts(leaf) if fields(c) and set(fields(c)) <= _CHEAP]
    return " AND ".join(condition(c, params) for c in cheap) if cheap else None


def _pins(p: Plan, params: Params) -> str:
    """PREWHERE text true for every span some leaf matches: the OR over the leaves of their
    cheap conjuncts ("" when a leaf has none)."""
    per_leaf = [_cheap(leaf, params) for leaf in p.leaves]
    if not per_leaf or any(c is None for c in per_leaf):
        return ""
    return " AND (" + " OR ".join(f"({c})" for c in per_leaf) + ")"


def _from(p: Plan, tables: Tables, leaves: list | None = None) -> str:
    exprs = (p.leaves if leaves is None else leaves) + p.extra
    trace_fields = any(uses_trace_fields(e) for e in exprs)
    return f"{tables.traces} AS s" + (trace_join(tables) if trace_fields else "")


def candidates_sql(p: Plan, tables: Tables, params: Params) -> str:
    """Candidate traces: (TraceId, first matching span start ns, spans per leaf), newest
    first; binds ``{start}``, ``{end}``, ``{n}`` and ``{offset}`` from the caller.

    One ``UNION ALL`` branch per leaf the condition needs, each grouped by trace: a branch
    scans with its own PREWHERE and skip indexes (an OR of the leaves in one scan would read
    every attribute map of the window, as no index serves both sides of an OR)."""
    if p.need == "c0 > 0" and p.leaves[0] is None and tables.span_graph:
        return _newest_traces_sql(tables)
    used = [i for i in range(len(p.leaves)) if f"c{i} > 0" in p.need]
    branches = []
    for i in used:
        leaf = p.leaves[i]
        cheap = _cheap(leaf, params)
        counts = ", ".join("count()" if j == i else "toUInt64(0)" for j in used)
        branches.append(
            f"SELECT TraceId, min(Timestamp) AS first, {counts} "
            f"FROM {_from(p, tables, [leaf])} PREWHERE {WINDOW}"
            + (f" AND {cheap}" if cheap else "")
            + f" WHERE {condition(leaf, params)} GROUP BY TraceId")
    sums = ", ".join(f"sum(`{j + 2}`) AS c{i}" for j, i in enumerate(used))
    # Positional names of the union's columns would be fragile: name them in a subquery.
    names = ", ".join(["TraceId", "first"] + [f"`{j + 2}`" for j in range(len(used))])
    union = " UNION ALL ".join(branches)
    return (f"SELECT TraceId, toUnixTimestamp64Nano(min(first)) AS first_ns, {sums} "
            f"FROM ({union}) AS u ({names}) GROUP BY TraceId HAVING {p.need} "
            "ORDER BY first_ns DESC, TraceId LIMIT {n:UInt32} OFFSET {offset:UInt32}")


def _newest_traces_sql(tables: Tables) -> str:
    """Candidates of a query that needs any span (``{ }``): the traces of the newest
    ``{top}`` spans of the window, read backwards from the end of the time-ordered span graph
    instead of grouping every span of the window (the caller binds ``{top}`` large enough
    for ``{n} + {offset}`` traces of a hundred spans)."""
    return (f"SELECT TraceId, toUnixTimestamp64Nano(min(Timestamp)) AS first_ns, count() AS c0 "
            f"FROM (SELECT TraceId, Timestamp FROM {tables.span_graph} PREWHERE {WINDOW} "
            "ORDER BY Timestamp DESC LIMIT {top:UInt32}) GROUP BY TraceId "
            "ORDER BY first_ns DESC, TraceId LIMIT {n:UInt32} OFFSET {offset:UInt32}")


def row_fields(p: Plan) -> list:
    """The fields whose values the rows carry, in column order."""
    out = []
    for f in p.shown + p.extra:
        if f not in out:
            out.append(f)
    return out


def _candidates_range(tables: Tables) -> str:
    """PREWHERE text: the window, narrowed to the candidates' time range by the trace id
    lookup table (candidates are mostly the newest traces: partitions and the primary key's
    time part prune), and the candidates (``{ids}``; the TraceId bloom filter skips)."""
    ids = "{ids:Array(String)}"
    # ...OrNull and the window as the default: ids the lookup table lacks narrow nothing.
    return (f"{WINDOW} AND Timestamp >= ifNull((SELECT minOrNull(Start) FROM {tables.id_ts} "
            f"WHERE TraceId IN {ids}), fromUnixTimestamp64Nano({{start:Int64}})) "
            f"AND Timestamp <= ifNull((SELECT maxOrNull(End) + 1 FROM {tables.id_ts} "
            f"WHERE TraceId IN {ids}), fromUnixTimestamp64Nano({{end:Int64}})) "
            f"AND TraceId IN {ids}")


def _span_key(tables: Tables) -> str:
    """A span's identity within the tree: the span graph's hash when the store has that
    table (the tree is read from it), else the span id."""
    return "cityHash64(TraceId, SpanId)" if tables.span_graph else "SpanId"


def _field_columns(f, params: Params, wanted: bool) -> list[str]:
    """A field's value and stored type columns, typed alike in every branch (NULL when the
    branch does not read it)."""
    sql, kind = value(f, params)
    cast = "Nullable(Float64)" if kind == "number" else "Nullable(String)"
    type_sql = attribute_type(f, params) if isinstance(f, ast.Attribute) else "''"
    if not wanted:
        return [f"CAST(NULL AS {cast})", "''"]
    return [f"CAST({sql} AS {cast})", type_sql]


def rows_sql(p: Plan, tables: Tables, params: Params) -> str:
    """The spans of the candidates ``{ids:Array(String)}`` that match a leaf: per row the leaf
    number, TraceId, SpanId, the span's tree key (``_span_key``), span columns, then per field
    of ``row_fields`` its value and (attributes) its stored type name. A span matching several
    leaves comes once per leaf.

    One ``UNION ALL`` branch per leaf, for the reason of ``candidates_sql``: each reads the
    attribute maps only in the granules its own PREWHERE and skip indexes leave, and only the
    attributes it needs: its own leaf's (so a span shows the attributes of the leaves it
    matches, where Tempo shows every condition's attribute the span has) and those of
    ``by``/``select``/aggregates. Intrinsics (plain columns) are read in every branch."""
    branches = []
    for i, leaf in enumerate(p.leaves):
        cheap = _cheap(leaf, params)
        own = fields(leaf)
        columns = [f"toUInt16({i})", "TraceId", "SpanId", _span_key(tables),
                   "toUnixTimestamp64Nano(Timestamp)", "toInt64(Duration)",
                   "toString(SpanName)", "toString(ServiceName)"]
        for f in row_fields(p):
            # Intrinsics are plain columns: every branch reads them. An attribute costs a map
            # read, so a branch reads only its own leaf's and the pipeline's.
            wanted = f in own or f in p.extra or not isinstance(f, ast.Attribute)
            columns += _field_columns(f, params, wanted)
        branches.append(
            f"(SELECT {', '.join(columns)} FROM {_from(p, tables, [leaf])} "
            f"PREWHERE {_candidates_range(tables)}" + (f" AND {cheap}" if cheap else "")
            + f" WHERE {condition(leaf, params)} ORDER BY TraceId, Timestamp, SpanId "
            f"LIMIT {MAX_SPANS_PER_TRACE} BY TraceId LIMIT {MAX_ROWS})")
    return " UNION ALL ".join(branches)


def tree_sql(tables: Tables) -> str:
    """(TraceId, span key, parent key) of every span of the candidates: structural operators
    need the whole tree. From the span graph when the store has it (ordered by time: the
    candidates' spans are a few granules of small columns), else from the traces table."""
    if tables.span_graph:
        return (f"SELECT TraceId, SpanHash, ParentHash FROM {tables.span_graph} "
                f"PREWHERE {WINDOW} AND TraceId IN {{ids:Array(String)}} LIMIT {MAX_ROWS}")
    return (f"SELECT TraceId, SpanId, ParentSpanId FROM {tables.traces} "
            f"PREWHERE {_candidates_range(tables)} LIMIT {MAX_ROWS}")
