"""``bad_duration`` (low): spans with impossible durations.

Flags services with spans lasting longer than ``thresholds.max_span_duration_ns`` (a day), or
with at least ``zero_duration_min_share`` of their spans lasting 0 ns.

Why it matters: such spans end before they start, never really ran, or were ended twice or
never; they distort every latency figure and percentile computed over them.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import examples, join
from spanhouse.analysis.doctor.report import Finding


def bad_duration(ctx: Context, facts: Facts) -> Finding | None:
    t = ctx.t
    rows = [r for r in facts.services
            if r.too_long > 0 or r.zero / max(r.spans, 1) >= t.zero_duration_min_share]
    if not rows:
        return None
    found = dict(ctx.rows("doctor_examples_durations.sql", "bad duration examples",
                          services=[r.service for r in rows],
                          max_duration=t.max_span_duration_ns))
    by_service = [{"service": r.service, "spans": r.spans, "zero": r.zero, "too_long": r.too_long,
                   "examples": list(found.get(r.service, ()))} for r in rows]
    return Finding(
        code="bad_duration",
        title="Spans with impossible durations (0 ns, or longer than a day)",
        severity="low", count=sum(r.zero + r.too_long for r in rows),
        services=tuple(r.service for r in rows),
        examples=examples(*[b["examples"] for b in by_service]),
        fix=(f"Spans of {join(r.service for r in rows)} end before they start, never really run, "
             "or last for days: end each span exactly once after the work, take start and end "
             "times from the SDK's clock (or the same unit: nanoseconds), and don't reuse "
             "span objects."),
        details=(("by_service", by_service),))


CHECK = Check("bad_duration", bad_duration)
