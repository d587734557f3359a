"""Throughput policies: ``rate_limiting`` (spans per second) and ``bytes_limiting``.

Upstream (``internal/sampling/rate_limiting.go``, ``bytes_limiting.go``) uses
``golang.org/x/time/rate.Limiter.AllowN``: a token bucket that starts full, refills
continuously at the configured rate and holds at most ``burst`` tokens; a trace passes when
its cost (span count, or size in bytes) can be taken out of the bucket now, and a trace costing
more than ``burst`` never passes. ``rate_limiting``'s burst is twice ``spans_per_second``;
``bytes_limiting``'s is ``burst_capacity`` (twice ``bytes_per_second`` when unset).

Time comes from the injected ``clock`` (seconds, e.g. ``time.monotonic``), so tests can drive
it. Both policies report probability 1.0 (see ``Verdict``).
"""

from __future__ import annotations

from spanhouse.processors.tail_sampling.policies.base import Clock
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict


class TokenBucket:
    """``rate.Limiter`` (``NewLimiter(limit, burst)`` + ``AllowN``), driven by ``clock``."""

    def __init__(self, rate: float, burst: int, clock: Clock):
        self.rate = float(rate)
        self.burst = int(burst)
        self.clock = clock
        self.tokens = 0.0
        self.last: float | None = None     # Go's zero time: the first call finds the bucket full

    def allow(self, n: int) -> bool:
        now = self.clock()
        if self.rate == 0:                 # rate.Limiter with limit 0: only the burst, once
            if self.burst >= n:
                self.burst -= n
                return True
            return False
        if self.last is None:
            tokens = float(self.burst)
        else:
            last = min(self.last, now)     # the clock went backwards: no refill
            tokens = min(self.tokens + (now - last) * self.rate, float(self.burst))
        tokens -= n
        wait_ns = int(1e9 * (-tokens / self.rate)) if tokens < 0 else 0
        if n <= self.burst and wait_ns <= 0:
            self.last = now
            self.tokens = tokens
            return True
        return False


class RateLimiting:
    """``rate_limiting``: at most ``spans_per_second`` spans per second (burst 2x)."""

    def __init__(self, name: str, spans_per_second: int, clock: Clock):
        self.name = name
        self.bucket = TokenBucket(spans_per_second, 2 * spans_per_second, clock)

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED if self.bucket.allow(trace.span_count) else NOT_SAMPLED


class BytesLimiting:
    """``bytes_limiting``: at most ``bytes_per_second`` bytes of spans per second, with a burst
    of ``burst_capacity``. The size is ``TraceView.size_bytes`` (an approximation of upstream's
    exact OTLP protobuf size)."""

    def __init__(self, name: str, bytes_per_second: int, burst_capacity: int, clock: Clock):
        self.name = name
        if burst_capacity <= 0:
            burst_capacity = 2 * bytes_per_second
        self.bucket = TokenBucket(bytes_per_second, burst_capacity, clock)

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED if self.bucket.allow(trace.size_bytes) else NOT_SAMPLED
