"""The trace's sampling decision: how the decisions of several policies combine into one.

A port of the OTel Collector ``tail_sampling`` processor's
``tailSamplingSpanProcessor.makeDecision`` (``processor/tailsamplingprocessor/processor.go``):

1. policies are evaluated in order (``build_policies`` puts the ``drop`` policies first, as the
   collector's ``loadSamplingPolicy`` does); a policy that raises counts as ``Error`` and is
   otherwise ignored;
2. the loop stops early at the first ``Dropped`` decision, and, with ``sample_on_first_match``,
   at the first ``Sampled`` one (not at ``InvertSampled``, exactly as upstream);
3. the final decision: any ``Dropped`` -> dropped; else any ``InvertNotSampled`` -> not sampled;
   else any ``Sampled`` -> sampled; else any ``InvertSampled`` and no ``NotSampled`` -> sampled;
   else not sampled.

``probability`` is Spanhouse's addition (for adjusted counts): every policy reports, with its
decision, the chance that it samples a trace like this one. The decisions and the policies'
answers are in ``verdict``.
"""

from __future__ import annotations

import logging
from typing import NamedTuple, Sequence

from spanhouse.processors.tail_sampling.policies.base import Policy
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import Decision

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    sampled: bool
    policy: str                       # the first Sampled (else InvertSampled) policy; "" if not sampled
    probability: float                # max probability among the policies that sampled; 1.0 if not sampled
    decisions: dict[str, Decision]    # every evaluated policy's decision, in evaluation order
    final: Decision = Decision.NotSampled  # Sampled, NotSampled or Dropped (for metrics)


def evaluate_policies(policies: Sequence[Policy], trace: TraceView,
                      sample_on_first_match: bool) -> Outcome:
    """Evaluate ``policies`` on ``trace`` and combine their decisions as upstream's
    ``makeDecision`` does."""
    decisions: dict[str, Decision] = {}
    first: dict[Decision, str] = {}
    best_sampled = 0.0
    best_invert_sampled = 0.0

    for policy in policies:
        try:
            verdict = policy.evaluate(trace)
        except Exception as exc:  # upstream: the error is counted and the policy skipped
            log.debug("sampling policy %r failed: %s", policy.name, exc)
            decisions[policy.name] = Decision.Error
            first.setdefault(Decision.Error, policy.name)
            continue
        decision = verdict.decision
        decisions[policy.name] = decision
        first.setdefault(decision, policy.name)
        if decision is Decision.Sampled:
            best_sampled = max(best_sampled, verdict.probability)
        elif decision is Decision.InvertSampled:
            best_invert_sampled = max(best_invert_sampled, verdict.probability)

        if decision is Decision.Dropped:          # break early: dropped wins anyway
            break
        if sample_on_first_match and decision is Decision.Sampled:
            break

    if Decision.Dropped in first:
        return Outcome(False, "", 1.0, decisions, Decision.Dropped)
    if Decision.InvertNotSampled in first:
        return Outcome(False, "", 1.0, decisions, Decision.NotSampled)
    if Decision.Sampled in first:
        probability = best_sampled
        if Decision.NotSampled not in first:
            # the invert-sampled policies would have kept it on their own as well
            probability = max(probability, best_invert_sampled)
        return Outcome(True, first[Decision.Sampled], probability, decisions, Decision.Sampled)
    if Decision.InvertSampled in first and Decision.NotSampled not in first:
        return Outcome(True, first[Decision.InvertSampled], best_invert_sampled, decisions,
                       Decision.Sampled)
    return Outcome(False, "", 1.0, decisions, Decision.NotSampled)
