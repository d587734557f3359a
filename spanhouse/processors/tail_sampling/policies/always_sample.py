"""``always_sample``: every trace (upstream ``internal/sampling/always_sample.go``)."""

from __future__ import annotations

from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import SAMPLED, Verdict


class AlwaysSample:
    def __init__(self, name: str):
        self.name = name

    def evaluate(self, trace: TraceView) -> Verdict:
        return SAMPLED
