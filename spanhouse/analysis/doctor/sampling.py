"""The sampling figures of the window, which the report shows and three checks judge
(``over_sampling``, ``under_sampling``, ``errors_sampled_away``).

The effective rate is stored spans / the sum of their ``AdjustedCount`` (a span kept at 5%
weighs 20), per sampling policy and in total; the bytes per span come from the traces table's
parts on disk. Error spans kept with a weight above 1 mean errors were dropped: their traces
are looked up only when the counts say there are some.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.analysis.doctor.context import Context, table_names
from spanhouse.analysis.doctor.options import SECOND
from spanhouse.analysis.doctor.report import PolicySampling, SamplingSummary
from spanhouse.store.cluster import LOCAL_SUFFIX


@dataclass(frozen=True)
class PolicyCounts:
    """A row of ``doctor_policies.sql``: the spans one sampling policy kept in the window."""

    policy: str
    spans: int
    estimated: float
    error_spans: int
    sampled_errors: int                       # error spans kept with a weight above 1


@dataclass(frozen=True)
class SampledErrors:
    """The error spans of the window kept with a weight above 1."""

    policies: tuple[str, ...] = ()            # the policies that kept them ("(none)": no policy)
    traces: int = 0
    estimated_traces: float = 0.0             # the sum of those traces' AdjustedCount
    examples: tuple[str, ...] = ()            # trace ids
    services: tuple[str, ...] = ()


def count_policies(ctx: Context) -> list[PolicyCounts]:
    """The window's spans per sampling policy, most spans first."""
    totals: dict[str, list] = {}
    for policy, spans, est, errs, sampled in ctx.counted("doctor_policies.sql",
                                                         "doctor_policies_stats.sql", "sampling"):
        total = totals.setdefault(policy, [0, 0.0, 0, 0])
        for i, value in enumerate((int(spans), float(est), int(errs), int(sampled))):
            total[i] += value
    return sorted((PolicyCounts(policy, *total) for policy, total in totals.items()),
                  key=lambda p: (-p.spans, p.policy))


def find_sampled_errors(ctx: Context, policies: list[PolicyCounts]) -> SampledErrors:
    """The traces, examples and services of the error spans kept with a weight above 1 (read
    only when ``policies`` counted some)."""
    names = tuple(sorted({p.policy or "(none)" for p in policies if p.sampled_errors}))
    if not names:
        return SampledErrors()
    entry_error = ctx.tables.entry_error
    fragments = ({"source": entry_error, "sampled_error": "IsError = 1 AND Weight > 1",
                  "sampled_weight": "Weight"}
                 if entry_error is not None else
                 {"source": ctx.tables.traces, "sampled_weight": ctx.tables.weight,
                  "sampled_error": (f"{ctx.tables.fragments['is_error']} "
                                    f"AND toFloat64({ctx.tables.weight}) > 1")})
    rows = ctx.run(ctx.sql("doctor_sampled_errors.sql", **fragments), "sampled errors")
    if not rows:
        return SampledErrors(names)
    traces, estimated, examples, services = rows[0]
    return SampledErrors(names, int(traces), float(estimated), tuple(examples),
                         tuple(sorted(services)))


def _bytes_per_span(ctx: Context, spans: int) -> float | None:
    """The traces table's compressed bytes per stored span (None: unknown)."""
    names = table_names(ctx.tables)
    if names is None or not spans:
        return None
    try:
        size = ctx.rows("doctor_table_size.sql", "table size", database=names[0],
                        table=names[1], local=names[1] + LOCAL_SUFFIX)
    except Exception:   # system.parts unreadable (permissions): no byte estimate
        return None
    if size and size[0][1]:
        return float(size[0][0]) / float(size[0][1])
    return None


def covered(ctx: Context) -> tuple[int, int]:
    """(first, last) span start of the window, Unix ns ((0, 0) without spans)."""
    source = ctx.tables.span_graph or ctx.tables.traces
    rows = ctx.run(ctx.sql("doctor_covered.sql", source=source), "covered time")
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def summarize(ctx: Context, policies: list[PolicyCounts], errors: SampledErrors
            ) -> SamplingSummary:
    """The window's sampling figures (``DoctorReport.sampling``); rates are per second of the
    time the data covers (first to last span start, at least a second), not of the window."""
    spans = sum(p.spans for p in policies)
    estimated = sum(p.estimated for p in policies)
    first, last = covered(ctx) if spans else (0, 0)
    seconds = max((last - first) / SECOND, 1.0)
    bytes_per_span = _bytes_per_span(ctx, spans)
    sps = spans / seconds
    return SamplingSummary(
        spans=spans, estimated_spans=estimated,
        rate=spans / estimated if estimated > 0 else 1.0, spans_per_second=sps,
        estimated_spans_per_second=estimated / seconds, bytes_per_span=bytes_per_span,
        bytes_per_day=sps * 86_400 * bytes_per_span if bytes_per_span is not None else None,
        error_spans=sum(p.error_spans for p in policies),
        sampled_error_traces=errors.traces, covered_start_ns=first, covered_end_ns=last,
        policies=tuple(PolicySampling(policy=p.policy, spans=p.spans, estimated_spans=p.estimated,
                                      rate=p.spans / p.estimated if p.estimated else 1.0)
                       for p in policies))
