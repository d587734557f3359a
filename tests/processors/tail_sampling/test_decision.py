"""``evaluate_policies``: upstream ``makeDecision`` (processor_test.go's decision cases)."""

from __future__ import annotations

import pytest

from spanhouse.processors.tail_sampling.decision import Outcome, evaluate_policies
from spanhouse.processors.tail_sampling.verdict import Decision

from .traces import Fixed, span, trace

S, N, DR = Decision.Sampled, Decision.NotSampled, Decision.Dropped
IS, INS, ERR = Decision.InvertSampled, Decision.InvertNotSampled, Decision.Error
TR = trace(span())


class Boom:
    def __init__(self, name="boom"):
        self.name = name

    def evaluate(self, tr):
        raise ValueError("cannot evaluate")


def run(*decisions, first_match=False):
    policies = [Fixed(f"p{i}", dec) for i, dec in enumerate(decisions)]
    return evaluate_policies(policies, TR, first_match)


@pytest.mark.parametrize("decisions, sampled, policy", [
    ((), False, ""),
    ((N,), False, ""),
    ((S,), True, "p0"),
    ((N, S), True, "p1"),
    ((S, S), True, "p0"),                       # the first sampling policy is reported
    ((IS,), True, "p0"),                        # invert sampled alone samples
    ((IS, N), False, ""),                       # ... unless some policy says NotSampled
    ((IS, S), True, "p1"),                      # Sampled is reported before InvertSampled
    ((S, INS), False, ""),                      # InvertNotSampled beats Sampled
    ((INS, IS), False, ""),
    ((S, DR), False, ""),                       # Dropped beats everything
    ((IS, IS, N, S), True, "p3"),
])
def test_decision_combination(decisions, sampled, policy):
    outcome = run(*decisions)
    assert (outcome.sampled, outcome.policy) == (sampled, policy)


def test_final_decision_for_metrics():
    assert run(S, DR).final is DR
    assert run(S).final is S
    assert run(N).final is N
    assert run(INS).final is N


def test_dropped_stops_evaluation():
    policies = [Fixed("drop", DR), Fixed("later", S)]
    outcome = evaluate_policies(policies, TR, False)
    assert policies[1].calls == 0
    assert outcome.decisions == {"drop": DR}


def test_sample_on_first_match_stops_at_first_sampled():
    policies = [Fixed("a", N), Fixed("b", S), Fixed("c", INS)]
    assert evaluate_policies(policies, TR, True).sampled
    assert policies[2].calls == 0
    # without it, the later InvertNotSampled wins
    assert not evaluate_policies(policies, TR, False).sampled


def test_sample_on_first_match_does_not_stop_at_invert_sampled():
    policies = [Fixed("a", IS), Fixed("b", N)]
    assert not evaluate_policies(policies, TR, True).sampled
    assert policies[1].calls == 1


def test_a_policy_that_raises_counts_as_error_and_is_ignored():
    outcome = evaluate_policies([Boom(), Fixed("ok", S)], TR, False)
    assert outcome.sampled and outcome.policy == "ok"
    assert outcome.decisions == {"boom": ERR, "ok": S}
    assert not evaluate_policies([Boom()], TR, False).sampled


def test_probability_is_the_max_among_sampling_policies():
    policies = [Fixed("five-pct", S, 0.05), Fixed("errors", S, 1.0)]
    outcome = evaluate_policies(policies, TR, False)
    assert outcome.policy == "five-pct" and outcome.probability == 1.0
    outcome = evaluate_policies([Fixed("a", S, 0.05), Fixed("b", N), Fixed("c", S, 0.2)], TR, False)
    assert outcome.probability == 0.2


def test_probability_counts_invert_sampled_only_without_not_sampled():
    assert evaluate_policies([Fixed("a", S, 0.1), Fixed("b", IS, 1.0)], TR, False).probability == 1.0
    assert evaluate_policies([Fixed("a", S, 0.1), Fixed("b", IS, 1.0), Fixed("c", N)], TR,
                             False).probability == 0.1


def test_probability_with_first_match_only_counts_evaluated_policies():
    outcome = evaluate_policies([Fixed("a", S, 0.1), Fixed("b", S, 1.0)], TR, True)
    assert outcome.probability == 0.1


def test_outcome_shape():
    outcome = run(S)
    assert isinstance(outcome, Outcome)
    assert outcome == Outcome(True, "p0", 1.0, {"p0": S}, S)
