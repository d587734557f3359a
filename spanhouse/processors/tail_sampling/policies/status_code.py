"""``status_code``: traces with a span of a given status (upstream
``internal/sampling/status_code.go``)."""

from __future__ import annotations

from spanhouse.model.batch import SpanBatch
from spanhouse.model.enums import StatusCode as OTLPStatusCode
from spanhouse.processors.tail_sampling.policies.base import has_span
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict

STATUS_CODES = {code.name: code for code in OTLPStatusCode}
"""The spellings ``status_codes`` accepts (``UNSET``, ``OK``, ``ERROR``) and their codes."""


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
