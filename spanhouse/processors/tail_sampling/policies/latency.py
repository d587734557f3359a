"""``latency``: traces by their duration (upstream ``internal/sampling/latency.go``)."""

from __future__ import annotations

from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict


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
