"""``probabilistic``: a fixed share of trace ids, the same answer wherever the same salt is
configured (upstream ``internal/sampling/probabilistic.go``)."""

from __future__ import annotations

from fractions import Fraction

from spanhouse.processors.hashing import fnv1a_64
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import Decision, Verdict

DEFAULT_HASH_SALT = "default-hash-seed"
MAX_UINT64 = 2 ** 64 - 1


def calculate_threshold(ratio: float) -> int:
    """Upstream ``calculateThreshold``: ``big.Float(MaxUint64) * big.NewFloat(ratio)`` rounded
    to the 64-bit mantissa of the receiver (nearest even), then ``Uint64()``, which truncates
    toward zero, gives 0 for negatives and saturates at ``MaxUint64``."""
    exact = Fraction(MAX_UINT64) * Fraction(ratio)
    if exact <= 0:
        return 0
    # scale into [2^63, 2^64) and round the mantissa to 64 bits, ties to even
    e = exact.numerator.bit_length() - exact.denominator.bit_length() - 64
    while True:
        scaled = exact / (Fraction(2) ** e)
        if scaled >= 2 ** 64:
            e += 1
        elif scaled < 2 ** 63:
            e -= 1
        else:
            break
    mantissa = scaled.numerator // scaled.denominator
    remainder = scaled - mantissa
    if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and mantissa % 2 == 1):
        mantissa += 1
    rounded = mantissa * (Fraction(2) ** e)
    value = rounded.numerator // rounded.denominator
    return min(value, MAX_UINT64)


def hash_trace_id(salt: str, trace_id: str) -> int:
    """FNV-1a 64 of the salt's bytes followed by the 16 raw trace-id bytes."""
    return fnv1a_64(salt.encode("utf-8") + bytes.fromhex(trace_id))


class Probabilistic:
    """``probabilistic``: ``fnv1a64(hash_salt + trace id) <= threshold(sampling_percentage)``;
    the same trace id gets the same answer wherever the same salt is configured."""

    def __init__(self, name: str, sampling_percentage: float, hash_salt: str = ""):
        self.name = name
        self.hash_salt = hash_salt or DEFAULT_HASH_SALT
        self.threshold = calculate_threshold(sampling_percentage / 100)
        self.probability = min(max(sampling_percentage / 100, 0.0), 1.0)

    def evaluate(self, trace: TraceView) -> Verdict:
        sampled = hash_trace_id(self.hash_salt, trace.trace_id) <= self.threshold
        return Verdict(Decision.Sampled if sampled else Decision.NotSampled, self.probability)
