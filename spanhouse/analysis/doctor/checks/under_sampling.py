"""``under_sampling`` (low): so little of real traffic is stored that rare paths never show.

Flags an effective sampling rate below ``thresholds.under_sampling_rate`` while the traffic it
stands for is at least ``under_sampling_min_estimated_per_second`` spans per second (and the
window is not over-sampled: the two findings exclude each other).

Why it matters: a path taken by one request in ten thousand is then almost never in the store,
and the traces that are kept say little about the tail.

Its count is of spans: stored, and estimated (the sum of their AdjustedCount).
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.checks.over_sampling import over_sampled
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated
from spanhouse.analysis.doctor.report import Finding


def under_sampling(ctx: Context, facts: Facts) -> Finding | None:
    summary, t = facts.sampling, ctx.t
    if (over_sampled(summary, t) or summary.rate >= t.under_sampling_rate
            or summary.estimated_spans_per_second < t.under_sampling_min_estimated_per_second):
        return None
    return Finding(
        code="under_sampling",
        title=f"Under-sampling: only {summary.rate:.3%} of the traffic is stored",
        severity="low", count=summary.spans, estimated_count=summary.estimated_spans,
        services=(), examples=(),
        fix=(f"Of {estimated(summary.estimated_spans, summary.spans, 'spans')}, so few are "
             "kept that rare paths never show up: sample at 1-5%, and keep errors and slow "
             "traces with tail_sampling status_code and latency policies."),
        details=(("sampling", summary.to_json()),))


CHECK = Check("under_sampling", under_sampling)
