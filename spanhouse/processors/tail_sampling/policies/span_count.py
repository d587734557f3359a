"""``span_count``: traces by their number of spans (upstream
``internal/sampling/span_count_sampler.go``)."""

from __future__ import annotations

from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict


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
