"""``high_cardinality_span_names`` (medium): span names with ids in them.

Flags services with more than ``thresholds.span_names_max_distinct`` distinct span names, or
at least ``span_names_min_id_like`` names holding an id-like segment (``GET /users/4711``).

Why it matters: names are for grouping; every distinct one is a new operation, so per-operation
latency, error rates and the operation lists drown in one-off names.

Its count is of distinct span names, which are not sampled units: its estimate is the count.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import examples, join
from spanhouse.analysis.doctor.report import Finding


def high_cardinality_span_names(ctx: Context, facts: Facts) -> Finding | None:
    t = ctx.t
    rows = [r for r in facts.services
            if r.names > t.span_names_max_distinct or r.id_names >= t.span_names_min_id_like]
    if not rows:
        return None
    traces = {(service, name): trace for service, name, trace in ctx.rows(
        "doctor_examples_names.sql", "span name examples", services=[r.service for r in rows],
        names=sorted({n for r in rows for n in r.id_examples}))}
    by_service = [{"service": r.service, "distinct_names": r.names, "id_like_names": r.id_names,
                   "example_names": list(r.id_examples),
                   "examples": [traces[(r.service, n)] for n in r.id_examples
                                if (r.service, n) in traces]} for r in rows]
    return Finding(
        code="high_cardinality_span_names",
        title="Span names with ids in them (too many distinct names)",
        # distinct span names are no sampled unit (a name stored once exists, whatever its
        # span's weight): the estimate is the count
        severity="medium", count=sum(r.names for r in rows),
        estimated_count=sum(r.names for r in rows),
        services=tuple(r.service for r in rows),
        examples=examples(*[b["examples"] for b in by_service]),
        fix=(f"Name the spans of {join(r.service for r in rows)} by their route template "
             "(e.g. 'GET /users/{id}' from http.route) rather than the raw path, and put the "
             "id in an attribute: names are for grouping, and every distinct one is a new "
             "operation."),
        details=(("by_service", by_service),))


CHECK = Check("high_cardinality_span_names", high_cardinality_span_names)
