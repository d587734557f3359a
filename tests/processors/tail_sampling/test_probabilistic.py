"""``probabilistic``: threshold arithmetic (big.Float semantics) and FNV-1a hashing, checked
against an inline reference FNV-1a 64 and exact integer arithmetic, plus upstream's
TestProbabilisticSampling rates."""

from __future__ import annotations

import random

import pytest

from spanhouse.processors.tail_sampling.policies import Probabilistic, calculate_threshold
from spanhouse.processors.tail_sampling.policies.probabilistic import hash_trace_id
from spanhouse.processors.tail_sampling.verdict import Decision

from .traces import span, trace

MAX = 2 ** 64 - 1


def ref_fnv1a_64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) % 2 ** 64
    return h


def test_fnv_reference_vectors():
    # the FNV spec's own vectors
    assert ref_fnv1a_64(b"") == 0xCBF29CE484222325
    assert ref_fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert ref_fnv1a_64(b"foobar") == 0x85944171F73967E8


def test_hash_is_salt_then_raw_trace_id_bytes():
    tid = "0102030405060708090a0b0c0d0e0f10"
    assert hash_trace_id("default-hash-seed", tid) == ref_fnv1a_64(
        b"default-hash-seed" + bytes(range(1, 17)))
    assert hash_trace_id("s", tid) == ref_fnv1a_64(b"s" + bytes(range(1, 17)))


@pytest.mark.parametrize("ratio, expected", [
    (0.0, 0),
    (-0.5, 0),                       # Uint64() of a negative big.Float is 0
    (1.0, MAX),
    (1.5, MAX),                      # saturates
    # (2^64-1) * 0.5 = 2^63 - 0.5 fits a 64-bit mantissa exactly; Uint64() truncates
    (0.5, 2 ** 63 - 1),
    # likewise 2^62 - 0.25 (62 ones, then .11: 64 significant bits)
    (0.25, 2 ** 62 - 1),
])
def test_calculate_threshold_exact_cases(ratio, expected):
    assert calculate_threshold(ratio) == expected


@pytest.mark.parametrize("pct", [0.01, 1, 5, 10, 25, 33, 33.333, 50, 66.6, 99.99])
def test_calculate_threshold_is_within_one_of_exact_product(pct):
    from fractions import Fraction
    exact = Fraction(MAX) * Fraction(pct / 100)
    got = calculate_threshold(pct / 100)
    assert abs(Fraction(got) - exact) <= 1
    assert got <= MAX


def test_decision_uses_hash_below_or_equal_threshold():
    rng = random.Random(7)
    policy = Probabilistic("p", 20, "my-salt")
    threshold = calculate_threshold(0.2)
    for _ in range(300):
        tid = f"{rng.getrandbits(128):032x}"
        expected = ref_fnv1a_64(b"my-salt" + bytes.fromhex(tid)) <= threshold
        verdict = policy.evaluate(trace(span(), trace_id=tid))
        assert (verdict.decision is Decision.Sampled) == expected
        assert verdict.probability == pytest.approx(0.2)


def test_empty_salt_means_default_salt():
    tid = "5b8efff798038103d269b633813fc60c"
    a = Probabilistic("a", 50, "").evaluate(trace(span(), trace_id=tid)).decision
    b = Probabilistic("b", 50, "default-hash-seed").evaluate(trace(span(), trace_id=tid)).decision
    assert a is b


# upstream TestProbabilisticSampling (rates within a tolerance over many random ids)
@pytest.mark.parametrize("pct, salt, expected", [
    (100, "", 100), (0, "", 0), (25, "", 25), (33, "", 33), (33, "test-salt", 33),
    (-50, "", 0), (150, "", 100),
])
def test_effective_sampling_rate(pct, salt, expected):
    rng = random.Random(1)
    policy = Probabilistic("p", pct, salt)
    count = 20_000
    sampled = sum(
        policy.evaluate(trace(span(), trace_id=f"{rng.getrandbits(128):032x}")).decision is Decision.Sampled
        for _ in range(count))
    assert sampled / count * 100 == pytest.approx(expected, abs=1.0)


def test_probability_is_clamped():
    assert Probabilistic("p", 150).probability == 1.0
    assert Probabilistic("p", -5).probability == 0.0
