"""``huge_traces`` (medium): traces with more than ``thresholds.huge_trace_spans`` spans.

Flags the services whose traces are that big, usually a loop or a batch job under one trace;
read from the trace shapes ``context_not_propagated`` reads too (``doctor_traces.sql``).

Why it matters: such a trace is slow to store, read and show, and the one request it stands
for is lost among thousands of spans.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated, examples, join
from spanhouse.analysis.doctor.report import Finding


def huge_traces(ctx: Context, facts: Facts) -> Finding | None:
    # (problem, service, traces, estimated traces, max spans, examples)
    huge = [r for r in facts.shapes if r[0] == "huge"]
    if not huge:
        return None
    count, estimate = sum(int(r[2]) for r in huge), sum(float(r[3]) for r in huge)
    return Finding(
        code="huge_traces",
        title=f"Traces with more than {ctx.t.huge_trace_spans:,} spans",
        severity="medium", count=count, estimated_count=estimate,
        services=tuple(r[1] for r in huge), examples=examples(*[r[5] for r in huge]),
        fix=(f"{estimated(estimate, count, 'traces')} of {join(r[1] for r in huge)} hold up to "
             f"{max(int(r[4]) for r in huge):,} spans (a loop or a batch job under one trace): "
             "give each item its own trace linked to the batch span (span links), or stop "
             "creating a span per iteration."),
        details=(("by_service", [{"service": r[1], "traces": int(r[2]),
                                  "estimated_traces": float(r[3]), "max_spans": int(r[4]),
                                  "examples": list(r[5])} for r in huge]),))


CHECK = Check("huge_traces", huge_traces, relations=True)
