"""Policies made of policies: ``and``, ``not``, ``drop``, ``composite``.

Ported from upstream ``internal/sampling/{and,not,drop,composite}.go`` and the builders
``{and,drop,not,composite}_helper.go``. A sub-policy that raises makes the combinator raise
(upstream returns ``Unspecified`` with the error, which ``makeDecision`` counts as an error).
"""

from __future__ import annotations

import math
from typing import Sequence

from spanhouse.processors.tail_sampling.policies.base import Clock, Policy
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import Decision, Verdict


class And:
    """``and``: Sampled when no sub-policy says NotSampled/InvertNotSampled (it stops at the
    first that does). Probability: the product of the sub-policies' probabilities."""

    matched = Decision.Sampled  # the decision when every sub-policy matches

    def __init__(self, name: str, subpolicies: Sequence[Policy]):
        self.name = name
        self.subpolicies = list(subpolicies)

    def evaluate(self, trace: TraceView) -> Verdict:
        probability = 1.0
        for sub in self.subpolicies:
            verdict = sub.evaluate(trace)
            if verdict.decision in (Decision.NotSampled, Decision.InvertNotSampled):
                return Verdict(Decision.NotSampled)
            probability *= verdict.probability
        return Verdict(self.matched, probability)


class Drop(And):
    """``drop``: Dropped when no sub-policy says NotSampled/InvertNotSampled, else NotSampled
    (``and`` with another outcome). A Dropped decision beats every other policy's decision."""

    matched = Decision.Dropped


class Not:
    """``not``: Sampled <-> NotSampled; any other decision (InvertSampled, InvertNotSampled,
    ...) passes through unchanged, as upstream. Probability: ``1 - p`` when the sub-policy is
    random (``p < 1``), else 1."""

    def __init__(self, name: str, subpolicy: Policy):
        self.name = name
        self.subpolicy = subpolicy

    def evaluate(self, trace: TraceView) -> Verdict:
        verdict = self.subpolicy.evaluate(trace)
        p = verdict.probability
        inverted = 1.0 - p if p < 1.0 else 1.0
        if verdict.decision is Decision.Sampled:
            return Verdict(Decision.NotSampled, inverted)
        if verdict.decision is Decision.NotSampled:
            return Verdict(Decision.Sampled, inverted)
        return verdict


def rate_allocation(max_total_spans_per_second: int, subpolicy_count: int,
                    allocations: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Upstream ``getRateAllocationMap`` + the ``int64()`` conversion: a policy listed with
    ``percent > 0`` gets ``percent/100 * max``; listed with ``percent <= 0``, an equal share
    ``max / number of sub-policies``; a sub-policy not listed gets 0 spans per second (it can
    never sample). Values truncate toward zero."""
    total = float(max_total_spans_per_second)
    default = total / subpolicy_count if subpolicy_count else math.inf
    shares: dict[str, float] = {}
    for policy, percent in allocations:
        shares[policy] = (float(percent) / 100) * total if percent > 0 else default
    return {policy: (int(value) if math.isfinite(value) else 0) for policy, value in shares.items()}


class _Sub:
    __slots__ = ("policy", "allocated", "sampled")

    def __init__(self, policy: Policy, allocated: int):
        self.policy = policy
        self.allocated = allocated
        self.sampled = 0


class Composite:
    """``composite``: sub-policies in ``composite_sub_policy`` order; the first one that says
    Sampled/InvertSampled decides: Sampled if, counting this trace's spans, that sub-policy
    stays within its allocation and within ``max_total_spans_per_second`` during the current
    second, else NotSampled (the spans are not counted, so a smaller trace may still pass).
    Counters restart at each new whole second of ``clock``.

    As upstream, the ``max_total_spans_per_second`` check is against the deciding
    sub-policy's own counter (the allocations are what share the total), and ``policy_order``
    is accepted but not used."""

    def __init__(self, name: str, max_total_spans_per_second: int,
                 subpolicies: Sequence[tuple[Policy, int]], clock: Clock):
        self.name = name
        self.max_total = max_total_spans_per_second
        self.subs = [_Sub(policy, allocated) for policy, allocated in subpolicies]
        self.clock = clock
        self.current_second: int | None = None

    def evaluate(self, trace: TraceView) -> Verdict:
        second = math.floor(self.clock())
        if second != self.current_second:
            self.current_second = second
            for sub in self.subs:
                sub.sampled = 0
        for sub in self.subs:
            verdict = sub.policy.evaluate(trace)
            if verdict.decision in (Decision.Sampled, Decision.InvertSampled):
                if_sampled = sub.sampled + trace.span_count
                if if_sampled <= sub.allocated and if_sampled <= self.max_total:
                    sub.sampled = if_sampled
                    return Verdict(Decision.Sampled, verdict.probability)
                return Verdict(Decision.NotSampled)
        return Verdict(Decision.NotSampled)
