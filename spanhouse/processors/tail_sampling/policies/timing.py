"""Whole-trace and per-span policies: ``always_sample``, ``latency``, ``span_count``,
``trace_flags``, ``status_code``, ``probabilistic``.

Ported from upstream ``internal/sampling/{always_sample,latency,span_count_sampler,
trace_flags,status_code,probabilistic}.go``.
"""

from __future__ import annotations

from fractions import Fraction

from spanhouse.model.batch import SpanBatch
from spanhouse.processors.hashing import fnv1a_64
from spanhouse.processors.tail_sampling.decision import Decision, Verdict
from spanhouse.processors.tail_sampling.policies.base import has_span
from spanhouse.processors.tail_sampling.trace import TraceView

SAMPLED = Verdict(Decision.Sampled)
NOT_SAMPLED = Verdict(Decision.NotSampled)

STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
DEFAULT_HASH_SALT = "default-hash-seed"
MAX_UINT64 = 2 ** 64 - 1


class AlwaysSample:
    def __init__(self, name: str):
        self.name = name

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED


def _go_milliseconds(ns: int) -> int:
    """``time.Duration.Milliseconds()``: integer division truncating toward zero."""
    q = abs(ns) // 1_000_000
    return q if ns >= 0 else -q


class Latency:
    """``latency``: the trace's duration (earliest start to latest end) ``>= threshold_ms``, or,
    with ``upper_threshold_ms``, in ``(threshold_ms, upper_threshold_ms]``.

    As upstream, the duration is re-checked after each span with the running min/max (a zero
    start or end time counts as "not seen yet"), and the first span for which the condition
    holds samples the trace: with an upper bound, a trace whose first spans fit the window is
    sampled even if later spans make it longer.
    """

    def __init__(self, name: str, threshold_ms: int, upper_threshold_ms: int = 0):
        self.name = name
        self.threshold_ms = threshold_ms
        self.upper_threshold_ms = upper_threshold_ms

    def evaluate(self, trace: TraceView) -> Verdict:
        lower, upper = self.threshold_ms, self.upper_threshold_ms
        min_t = max_t = 0
        for batch, rows in trace.parts:
            start_ns, end_ns = batch.start_ns, batch.end_ns
            for row in rows:
                s, e = start_ns[row], end_ns[row]
                if min_t == 0 or s < min_t:
                    min_t = s
                if max_t == 0 or e > max_t:
                    max_t = e
                ms = _go_milliseconds(max_t - min_t)
                if upper == 0:
                    if ms >= lower:
                        return SAMPLED
                elif lower < ms <= upper:
                    return SAMPLED
        return NOT_SAMPLED


class SpanCount:
    """``span_count``: ``min_spans <= spans`` and, unless ``max_spans`` is 0, ``<= max_spans``."""

    def __init__(self, name: str, min_spans: int, max_spans: int = 0):
        self.name = name
        self.min_spans = min_spans
        self.max_spans = max_spans

    def evaluate(self, trace: TraceView) -> Verdict:
        n = trace.span_count
        if self.max_spans == 0 and n >= self.min_spans:
            return SAMPLED
        if self.min_spans <= n <= self.max_spans:
            return SAMPLED
        return NOT_SAMPLED


class TraceFlags:
    """``trace_flags``: a span with the W3C ``sampled`` flag (bit 0 of the low byte)."""

    def __init__(self, name: str):
        self.name = name

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED if has_span(trace, lambda b, row: b.flags[row] & 0x01 != 0) else NOT_SAMPLED


class StatusCode:
    """``status_code``: a span whose status is one of ``status_codes`` (OK, ERROR, UNSET)."""

    def __init__(self, name: str, status_codes: list[str]):
        self.name = name
        self.codes = frozenset(STATUS_CODES[c] for c in status_codes)

    def evaluate(self, trace: TraceView) -> Verdict:
        codes = self.codes

        def span_matches(batch: SpanBatch, row: int) -> bool:
            return batch.status_code[row] in codes

        return SAMPLED if has_span(trace, span_matches) else NOT_SAMPLED


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
