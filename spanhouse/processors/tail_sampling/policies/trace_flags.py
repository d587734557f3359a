"""``trace_flags``: traces the sender sampled (upstream ``internal/sampling/trace_flags.go``)."""

from __future__ import annotations

from spanhouse.model.enums import SAMPLED_FLAG
from spanhouse.processors.tail_sampling.policies.base import has_span
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict


class TraceFlags:
    """``trace_flags``: a span with the W3C ``sampled`` flag (bit 0 of the low byte)."""

    def __init__(self, name: str):
        self.name = name

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED if has_span(trace, lambda b, row: b.flags[row] & SAMPLED_FLAG != 0) else NOT_SAMPLED
