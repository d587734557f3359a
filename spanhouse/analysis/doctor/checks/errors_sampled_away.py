"""``errors_sampled_away`` (high): error spans were kept with a weight above 1.

A kept span weighing 20 stands for 19 that were dropped: when it is an error, errors were
dropped. Flags the sampling policies that did it, with the traces of those error spans.

Why it matters: errors are rare and are what traces are opened for; a status_code policy ahead
of the probabilistic one keeps every one of them for the cost of a few traces.

Its count is of traces: stored, and estimated (the sum of each trace's largest AdjustedCount of
those error spans: the error traces they stand for), from the same query.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated, examples
from spanhouse.analysis.doctor.report import Finding


def errors_sampled_away(ctx: Context, facts: Facts) -> Finding | None:
    errors = facts.sampled_errors
    if not errors.traces:
        return None
    return Finding(
        code="errors_sampled_away",
        title="Error traces are sampled: some errors were dropped",
        severity="high", count=errors.traces, estimated_count=errors.estimated_traces,
        services=errors.services, examples=examples(errors.examples),
        fix=(f"Error spans of {estimated(errors.estimated_traces, errors.traces, 'traces')} "
             f"were kept with a weight above 1 by {', '.join(errors.policies)}: "
             "put a tail_sampling status_code policy (status_codes: [ERROR]) before the "
             "probabilistic one so every error trace is kept."),
        details=(("policies", list(errors.policies)),))


CHECK = Check("errors_sampled_away", errors_sampled_away)
