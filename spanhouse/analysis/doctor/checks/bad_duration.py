"""``bad_duration`` (low): spans with impossible durations.

Flags services with spans lasting longer than ``thresholds.max_span_duration_ns`` (a day), or
with at least ``zero_duration_min_share`` of their spans lasting 0 ns.

Why it matters: such spans end before they start, never really ran, or were ended twice or
never; they distort every latency figure and percentile computed over them.

Its count is of spans: stored, and estimated (the sum of their AdjustedCount), from one query
over the flagged services' spans (the span stats count bad durations unweighted).
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated, examples, join
from spanhouse.analysis.doctor.report import Finding


def bad_duration(ctx: Context, facts: Facts) -> Finding | None:
    t = ctx.t
    rows = [r for r in facts.services
            if r.too_long > 0 or r.zero / max(r.spans, 1) >= t.zero_duration_min_share]
    if not rows:
        return None
    found = {service: (int(spans), float(est), list(ids)) for service, spans, est, ids in ctx.rows(
        "doctor_examples_durations.sql", "bad durations", services=[r.service for r in rows],
        max_duration=t.max_span_duration_ns)}
    by_service = [{"service": r.service, "spans": r.spans, "zero": r.zero, "too_long": r.too_long,
                   "estimated_bad": found.get(r.service, (0, 0.0, []))[1],
                   "examples": found.get(r.service, (0, 0.0, []))[2]} for r in rows]
    count = sum(v[0] for v in found.values())
    estimate = sum(v[1] for v in found.values())
    return Finding(
        code="bad_duration",
        title="Spans with impossible durations (0 ns, or longer than a day)",
        severity="low", count=count, estimated_count=estimate,
        services=tuple(r.service for r in rows),
        examples=examples(*[b["examples"] for b in by_service]),
        fix=(f"{estimated(estimate, count, 'spans')} of {join(r.service for r in rows)} end "
             "before they start, never really run, or last for days: end each span exactly "
             "once after the work, take start and end times from the SDK's clock (or the same "
             "unit: nanoseconds), and don't reuse span objects."),
        details=(("by_service", by_service),))


CHECK = Check("bad_duration", bad_duration)
