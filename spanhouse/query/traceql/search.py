"""TraceQL search: a parsed query -> ClickHouse SQL -> ``SearchResult``.

``search_plan`` turns the query into two statements (candidate traces, then the rows of those
candidates), ``search_eval`` evaluates the pipeline on each candidate's bounded rows, and the
summaries of the surviving traces (root service and name, start, duration) come from the
query service's summary SQL (``spanhouse/query/sql/trace_summaries*.sql``: the per-trace
summary table when the store has it).

When the candidates' condition is exact (filters joined by ``&&``/``||``), one round of
``limit`` candidates answers. Otherwise (structural operators, later filters, scalar filters)
candidates are over-fetched and, when fewer than ``limit`` traces survive, the next page of
candidates is evaluated, for at most ``MAX_ROUNDS`` rounds: a result may then hold fewer
traces than exist (as Tempo's, which stops at its own job limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spanhouse.query.sqlutil import render
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.results import MatchedSpan, SearchResult, SpanSet, TraceMatch
from spanhouse.query.traceql.search_eval import Evaluator, collect_rows
from spanhouse.query.traceql.search_fields import label
from spanhouse.query.traceql.search_plan import (
    SPANS_PER_NEWEST_TRACE, Plan, candidates_sql, plan, row_fields, rows_sql, tree_sql,
)
from spanhouse.query.traceql.sqlexpr import Params

if TYPE_CHECKING:
    from spanhouse.analysis.store import AnalysisReader

MAX_ROUNDS = 4
MAX_CANDIDATES = 1000           # candidate traces per round


def _round_size(p: Plan, limit: int) -> int:
    return limit if p.exact else min(limit * 3 + 20, MAX_CANDIDATES)


def statements(reader: "AnalysisReader", query: ast.Query) -> list[str]:
    """The SQL texts a search runs (placeholders unbound), for ``explain``."""
    p = plan(query)
    tables = reader.tables()
    summary = "trace_summaries_agg.sql" if tables.summary else "trace_summaries.sql"
    return [candidates_sql(p, tables, Params()), rows_sql(p, tables, Params())] + \
        ([tree_sql(tables)] if p.structural else []) + [render(summary, **tables.fragments)]


def search(reader: "AnalysisReader", query: ast.Query, start_ns: int, end_ns: int,
           limit: int, spss: int) -> SearchResult:
    """Traces of [start_ns, end_ns] with a spanset the query keeps, newest first (window,
    limit and spss checked by the caller)."""
    p = plan(query)
    tables = reader.tables()
    window = {"start": start_ns, "end": end_ns}
    cand_params, row_params = Params("c"), Params("r")
    cand_sql = candidates_sql(p, tables, cand_params)
    row_sql = rows_sql(p, tables, row_params)
    fields = row_fields(p)
    size = _round_size(p, limit)
    kept: list[tuple[str, list]] = []
    inspected_traces = inspected_spans = 0
    for round_number in range(MAX_ROUNDS):
        offset = round_number * size
        candidates = reader.rows(cand_sql, {**cand_params.values, **window, "n": size,
                                            "offset": offset,
                                            "top": (offset + size) * SPANS_PER_NEWEST_TRACE},
                                 "TraceQL search (candidate traces)")
        if not candidates:
            break
        ids = [row[0] for row in candidates]
        inspected_traces += len(ids)
        raw = reader.rows(row_sql, {**row_params.values, **window, "ids": ids},
                          "TraceQL search (spans of the candidates)")
        inspected_spans += len(raw)
        rows = collect_rows(raw, len(p.leaves), fields)
        parents: dict[str, dict[str, str]] = {}
        if p.structural:
            for trace_id, span_id, parent in reader.rows(
                    tree_sql(tables), {**window, "ids": ids}, "TraceQL search (span tree)"):
                parents.setdefault(trace_id, {})[span_id] = parent
        for trace_id in ids:               # newest first, as the candidates came
            spans = sorted(rows.get(trace_id, {}).values(), key=lambda r: (r.start_ns, r.span_id))
            sets = Evaluator(p.leaf_index, spans, parents.get(trace_id) if p.structural
                             else None).run(query.pipeline)
            if sets:
                kept.append((trace_id, sets))
        if len(kept) >= limit or len(candidates) < size:
            break
    return SearchResult(_matches(reader, p, kept, limit, spss), inspected_traces,
                        inspected_spans)


def _matches(reader, p: Plan, kept: list, limit: int, spss: int) -> list[TraceMatch]:
    if not kept:
        return []
    tables = reader.tables()
    summary = "trace_summaries_agg.sql" if tables.summary else "trace_summaries.sql"
    rows = reader.rows(render(summary, **tables.fragments),
                       {"ids": [trace_id for trace_id, _ in kept]},
                       "TraceQL search (trace summaries)")
    info = {r[0]: r for r in rows}
    out = []
    for trace_id, sets in kept:
        row = info.get(trace_id)
        has_root = bool(row[1]) if row else False
        out.append(TraceMatch(
            trace_id=trace_id,
            root_service_name=row[2] if has_root else "",
            root_trace_name=row[3] if has_root else "",
            start_ns=int(row[4]) if row else min(r.start_ns for s in sets for r in s.spans),
            duration_ns=int(row[5]) if row else 0,
            span_sets=[_span_set(p, s, spss) for s in sets]))
    # Newest trace start first (the candidates' order is that of their first matching span).
    out.sort(key=lambda t: (-t.start_ns, t.trace_id))
    return out[:limit]


def _span_set(p: Plan, s, spss: int) -> SpanSet:
    spans = sorted(s.spans, key=lambda r: (r.start_ns, r.span_id))
    shown = p.shown + [f for f in p.selected if f not in p.shown]
    return SpanSet(
        spans=[MatchedSpan(r.span_id, r.name, r.service, r.start_ns, r.duration_ns,
                           {label(f): r.values[f] for f in shown if f in r.values})
               for r in spans[:spss]],
        matched=len(s.spans), attributes=dict(s.attributes))
