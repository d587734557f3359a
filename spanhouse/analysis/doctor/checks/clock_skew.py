"""``clock_skew`` (medium): server spans start before or end after their client spans.

Flags (caller, callee) pairs where a SERVER span sits outside its CLIENT parent by more than
``thresholds.clock_skew_tolerance_ns`` in at least ``clock_skew_min_share`` of the calls
(``doctor_clock_skew.sql``): the two hosts' clocks disagree.

Why it matters: spans are shown as recorded, so waterfalls, durations across the calls and the
critical path are off until the clocks agree.

Its count is of skewed calls (server spans): stored, and estimated (the sum of their
AdjustedCount), from the same query.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated, examples, join, ms
from spanhouse.analysis.doctor.report import Finding


def clock_skew(ctx: Context, facts: Facts) -> Finding | None:
    if not facts.kinds.calls:
        return None
    t = ctx.t
    # (caller, callee, calls, skewed, skewed estimated, max offset, examples)
    rows = [r for r in ctx.rows("doctor_clock_skew.sql", "clock skew",
                                tolerance=t.clock_skew_tolerance_ns,
                                max_duration=t.max_span_duration_ns)
            if r[3] / max(r[2], 1) >= t.clock_skew_min_share]
    if not rows:
        return None
    worst = max(int(r[5]) for r in rows)
    hosts = join(dict.fromkeys(s for r in rows for s in (r[0], r[1])))
    count, estimate = sum(int(r[3]) for r in rows), sum(float(r[4]) for r in rows)
    return Finding(
        code="clock_skew",
        title="Clock skew: server spans start before or end after their client spans",
        severity="medium", count=count, estimated_count=estimate,
        services=tuple(f"{r[0]} → {r[1]}" for r in rows),
        examples=examples(*[r[6] for r in rows]),
        fix=(f"The clocks of {hosts} disagree by up to {ms(worst)} on "
             f"{estimated(estimate, count, 'calls')}: run NTP/chrony on their hosts; spans are "
             "shown as recorded, so waterfalls and durations across these calls are off until "
             "then."),
        details=(("tolerance_ms", t.clock_skew_tolerance_ns / 1e6),
                 ("pairs", [{"caller": r[0], "callee": r[1], "calls": int(r[2]),
                             "skewed": int(r[3]), "skewed_estimated": float(r[4]),
                             "max_offset_ms": int(r[5]) / 1e6, "examples": list(r[6])}
                            for r in rows])))


CHECK = Check("clock_skew", clock_skew, relations=True)
