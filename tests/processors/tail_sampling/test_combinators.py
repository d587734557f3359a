"""``and``, ``not``, ``drop``, ``composite`` (ported from upstream and_test.go, not_test.go,
drop_test.go, composite_test.go)."""

from __future__ import annotations

import pytest

from spanhouse.model.enums import StatusCode as Status
from spanhouse.processors.tail_sampling.policies import (
    AlwaysSample, And, Composite, Drop, Not, NumericAttribute, Probabilistic, StatusCode,
    StringAttribute, rate_allocation,
)
from spanhouse.processors.tail_sampling.verdict import Decision, Verdict

from .traces import FakeClock, Fixed, span, trace

S, N, DR = Decision.Sampled, Decision.NotSampled, Decision.Dropped


class Boom:
    name = "boom"

    def evaluate(self, tr):
        raise RuntimeError("boom")


ERR_TRACE = trace(span(status=Status.ERROR, attributes={"http.status_code": 503}))
OK_TRACE = trace(span(status=Status.OK, attributes={"http.status_code": 200}))


# ------------------------------------------------------------------ and
def test_and_samples_when_every_sub_policy_samples():
    policy = And("a", [StatusCode("s", ["ERROR"]), NumericAttribute("n", "http.status_code", 500, 599)])
    assert policy.evaluate(ERR_TRACE).decision is S
    assert policy.evaluate(OK_TRACE).decision is N


def test_and_treats_invert_decisions_like_upstream():
    invert = StringAttribute("s", "env", ["test"], invert_match=True)
    assert And("a", [AlwaysSample("x"), invert]).evaluate(trace(span(attributes={"env": "prod"}))).decision is S
    assert And("a", [AlwaysSample("x"), invert]).evaluate(trace(span(attributes={"env": "test"}))).decision is N


def test_and_stops_at_first_not_sampled():
    later = Fixed("later", S)
    assert And("a", [Fixed("n", N), later]).evaluate(OK_TRACE).decision is N
    assert later.calls == 0


def test_and_probability_is_the_product():
    verdict = And("a", [Fixed("x", S, 0.5), Fixed("y", S, 0.2), AlwaysSample("z")]).evaluate(OK_TRACE)
    assert verdict == Verdict(S, pytest.approx(0.1))


def test_and_propagates_errors():
    with pytest.raises(RuntimeError):
        And("a", [AlwaysSample("x"), Boom()]).evaluate(OK_TRACE)


# ------------------------------------------------------------------ not
def test_not_inverts_sampled_and_not_sampled():
    assert Not("n", StatusCode("s", ["ERROR"])).evaluate(ERR_TRACE).decision is N
    assert Not("n", StatusCode("s", ["ERROR"])).evaluate(OK_TRACE).decision is S


def test_not_passes_other_decisions_through():
    assert Not("n", Fixed("x", Decision.InvertSampled)).evaluate(OK_TRACE).decision is Decision.InvertSampled
    assert Not("n", Fixed("x", Decision.InvertNotSampled)).evaluate(OK_TRACE).decision is Decision.InvertNotSampled


def test_not_probability():
    assert Not("n", Fixed("x", N, 0.25)).evaluate(OK_TRACE) == Verdict(S, 0.75)
    assert Not("n", Fixed("x", N)).evaluate(OK_TRACE) == Verdict(S, 1.0)


def test_not_of_probabilistic_complements_it():
    p = Probabilistic("p", 30)
    n = Not("n", p)
    for i in range(50):
        tr = trace(span(), trace_id=f"{i * 7919:032x}")
        assert (p.evaluate(tr).decision is S) != (n.evaluate(tr).decision is S)


# ------------------------------------------------------------------ drop
def test_drop_when_every_sub_policy_matches():
    policy = Drop("d", [StatusCode("s", ["ERROR"]), NumericAttribute("n", "http.status_code", 500, 599)])
    assert policy.evaluate(ERR_TRACE).decision is DR
    assert policy.evaluate(OK_TRACE).decision is N


def test_drop_with_invert_not_sampled_sub_policy_is_not_sampled():
    invert = StringAttribute("s", "env", ["test"], invert_match=True)
    assert Drop("d", [invert]).evaluate(trace(span(attributes={"env": "test"}))).decision is N
    assert Drop("d", [invert]).evaluate(trace(span(attributes={"env": "prod"}))).decision is DR


# ------------------------------------------------------------------ composite
def test_rate_allocation_as_upstream():
    # percent > 0: share of the total; percent <= 0: equal share; not listed: 0
    assert rate_allocation(1000, 3, [("a", 50), ("b", 25)]) == {"a": 500, "b": 250}
    assert rate_allocation(1000, 3, [("a", 0)]) == {"a": 333}
    assert rate_allocation(10, 4, [("a", 33)]) == {"a": 3}          # 3.3 truncates


def make_composite(clock, max_total=10, allocations=(("errors", 50), ("all", 50))):
    subs = [("errors", StatusCode("errors", ["ERROR"])), ("all", AlwaysSample("all"))]
    shares = rate_allocation(max_total, len(subs), list(allocations))
    return Composite("c", max_total, [(p, shares.get(n, 0)) for n, p in subs], clock)


def test_composite_first_sampling_sub_policy_spends_its_own_allocation():
    clock = FakeClock(1000.2)
    policy = make_composite(clock)                       # errors: 5 spans/s, all: 5 spans/s
    three_errors = trace(span(status=Status.ERROR), span(status=Status.ERROR),
                         span(status=Status.ERROR))
    three_ok = trace(span(), span(), span())
    assert policy.evaluate(three_errors).decision is S   # errors: 3/5
    assert policy.evaluate(three_errors).decision is N   # 6 > 5, not counted
    two_errors = trace(span(status=Status.ERROR), span(status=Status.ERROR))
    assert policy.evaluate(two_errors).decision is S     # 5/5
    # an error trace is decided by "errors" (over budget): not passed on to "all"
    assert policy.evaluate(trace(span(status=Status.ERROR))).decision is N
    assert policy.evaluate(three_ok).decision is S       # all: 3/5
    assert policy.evaluate(three_ok).decision is N
    clock.advance(0.9)                                   # next whole second: counters restart
    assert policy.evaluate(three_errors).decision is S
    assert policy.evaluate(three_ok).decision is S


def test_composite_sub_policy_without_allocation_never_samples():
    policy = make_composite(FakeClock(), allocations=(("errors", 100),))
    assert policy.evaluate(trace(span(status=Status.ERROR))).decision is S
    assert policy.evaluate(trace(span())).decision is N


def test_composite_max_total_caps_a_single_allocation():
    # allocation above the total (150%) is capped by max_total_spans_per_second
    policy = make_composite(FakeClock(), max_total=4, allocations=(("all", 150),))
    assert policy.evaluate(trace(*[span() for _ in range(4)])).decision is S
    assert policy.evaluate(trace(span())).decision is N


def test_composite_passes_sub_policy_probability():
    clock = FakeClock()
    policy = Composite("c", 100, [(Fixed("p", S, 0.1), 100)], clock)
    assert policy.evaluate(OK_TRACE) == Verdict(S, 0.1)


def test_composite_no_sub_policy_samples():
    policy = Composite("c", 100, [(Fixed("x", N), 100)], FakeClock())
    assert policy.evaluate(OK_TRACE).decision is N
