"""What several checks read: each shared query runs once per report, when a check (or the
report) first asks for it.

``Facts`` holds the window's ``Context`` and the relation checks' one (``relations``: the
window, or a slice of a big one; see ``relations.py``), and computes lazily:

- ``services``: per service, its spans, bad durations and span names (``bad_duration``,
  ``high_cardinality_span_names``);
- ``policies``, ``sampled_errors``, ``sampling``: the sampling figures (the report,
  ``over_sampling``, ``under_sampling``, ``errors_sampled_away``);
- ``business_keys``: the configured keys plus the learned ones (the report,
  ``no_business_context``);
- ``kinds`` and ``shapes``, over ``relations``: which relation queries have work, and the
  trace shapes (``context_not_propagated``, ``async_hop_unlinked``, ``clock_skew``,
  ``huge_traces``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.options import DAY
from spanhouse.analysis.doctor.relations import Kinds, count_kinds, relation_slice, trace_shapes
from spanhouse.analysis.doctor.report import SamplingSummary
from spanhouse.analysis.doctor.sampling import (PolicyCounts, SampledErrors, count_policies,
                                                find_sampled_errors, summarize)

# "*.id" keys of these namespaces identify machinery, not the business: never learned.
TECHNICAL_PREFIXES = (
    "http.", "url.", "net.", "network.", "server.", "client.", "rpc.", "db.", "messaging.",
    "thread.", "process.", "host.", "container.", "k8s.", "cloud.", "faas.", "os.", "otel.",
    "telemetry.", "service.", "span.", "trace.", "code.", "exception.", "aws.", "gcp.",
    "azure.", "deployment.", "device.", "log.", "request.", "event.", "message.", "peer.",
)


@dataclass(frozen=True)
class ServiceCounts:
    """A row of ``doctor_window.sql``: one service's spans in the window."""

    service: str
    spans: int
    zero: int                                 # lasting 0 ns
    too_long: int                             # lasting over max_span_duration_ns
    names: int                                # distinct span names
    id_names: int                             # ... holding an id-like segment
    id_examples: tuple[str, ...]              # up to 5 of those


def service_counts(ctx: Context) -> list[ServiceCounts]:
    if ctx.t.max_span_duration_ns != DAY:   # the stats count spans over a day (OverDay)
        ctx = ctx.without_stats()
    counts = ctx.sql("doctor_window_spans.sql", **ctx.span_fragments())
    if ctx.uses_stats:
        counts += "\nUNION ALL\n" + ctx.sql("doctor_window_stats.sql")
    return [ServiceCounts(service, int(spans), int(zero), int(too_long), int(names),
                          int(id_names), tuple(id_examples))
            for service, spans, zero, too_long, names, id_names, id_examples in ctx.run(
                ctx.sql("doctor_window.sql", counts=counts), "span counts",
                max_duration=ctx.t.max_span_duration_ns)]


def business_context(ctx: Context) -> Context:
    """The context business keys are counted in. The span stats hold the entry spans' keys
    ending in ".id" only: usable when every configured business key is one of those (the
    defaults are)."""
    return ctx if all(k.endswith(".id") for k in ctx.options.business_keys) else (
        ctx.without_stats())


def learned_keys(ctx: Context) -> tuple[str, ...]:
    """The configured business keys, then the ``*.id`` keys entry spans carry (technical
    namespaces excepted) when ``options.learn_business_keys``."""
    keys = list(ctx.options.business_keys)
    if not ctx.options.learn_business_keys:
        return tuple(keys)
    rows = business_context(ctx).counted(
        "doctor_keys_learn.sql", "doctor_keys_learn_stats.sql", "business keys", keys=keys,
        learn_limit=ctx.options.learn_limit)
    for key, _services, _spans in rows:
        if key not in keys and not key.startswith(TECHNICAL_PREFIXES) and key != "id":
            keys.append(key)
    return tuple(keys)


class Facts:
    """The shared queries of one report (see the module docstring)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @cached_property
    def services(self) -> list[ServiceCounts]:
        return service_counts(self.ctx)

    @cached_property
    def policies(self) -> list[PolicyCounts]:
        return count_policies(self.ctx)

    @cached_property
    def sampled_errors(self) -> SampledErrors:
        return find_sampled_errors(self.ctx, self.policies)

    @cached_property
    def sampling(self) -> SamplingSummary:
        return summarize(self.ctx, self.policies, self.sampled_errors)

    @cached_property
    def business_keys(self) -> tuple[str, ...]:
        return learned_keys(self.ctx)

    @cached_property
    def _relation_slice(self) -> tuple[Context, dict | None]:
        return relation_slice(self.ctx, self.sampling.spans)

    @property
    def relations(self) -> Context:
        """The context of the relation checks: the window, or a slice of a big one."""
        return self._relation_slice[0]

    @property
    def sample(self) -> dict | None:
        """The slice the relation checks ran over (None: the whole window)."""
        return self._relation_slice[1]

    @cached_property
    def kinds(self) -> Kinds:
        return count_kinds(self.relations)

    @cached_property
    def shapes(self) -> list[tuple]:
        return trace_shapes(self.relations)
