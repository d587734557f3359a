"""``over_sampling`` (medium): most of the traffic is stored, at a real volume.

Flags an effective sampling rate (stored spans / sum of ``AdjustedCount``) at or above
``thresholds.over_sampling_rate`` while at least ``over_sampling_min_spans_per_second`` are
stored.

Why it matters: storage and query cost grow with every span kept, while 1-5% of the traffic
plus every error and slow trace answers the same questions.

Its count is of spans: stored, and estimated (the sum of their AdjustedCount).
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import byte_size, estimated
from spanhouse.analysis.doctor.options import Thresholds
from spanhouse.analysis.doctor.report import Finding, SamplingSummary


def over_sampled(summary: SamplingSummary, t: Thresholds) -> bool:
    return (summary.rate >= t.over_sampling_rate
            and summary.spans_per_second >= t.over_sampling_min_spans_per_second)


def over_sampling(ctx: Context, facts: Facts) -> Finding | None:
    summary = facts.sampling
    if not over_sampled(summary, ctx.t):
        return None
    volume = f"{summary.spans_per_second:,.1f} spans/s" + (
        f" (about {byte_size(summary.bytes_per_day)}/day)"
        if summary.bytes_per_day is not None else "")
    return Finding(
        code="over_sampling",
        title=f"Over-sampling: {summary.rate:.0%} of the traffic is stored",
        severity="medium", count=summary.spans, estimated_count=summary.estimated_spans,
        services=(), examples=(),
        fix=(f"The window's {estimated(summary.estimated_spans, summary.spans, 'spans')}: "
             f"you store {volume} at an effective rate of {summary.rate:.0%}: start at 1-5% "
             "(probabilistic_sampler, or a tail_sampling probabilistic policy) and keep "
             "the interesting traces with status_code (errors) and latency policies; "
             "raise the rate as needed."),
        details=(("sampling", summary.to_json()),))


CHECK = Check("over_sampling", over_sampling)
