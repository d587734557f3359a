"""What every policy shares: the ``Policy`` interface, the ``Clock`` the time-driven ones read,
and upstream's trace-scanning helpers (``internal/sampling/util.go``), over Spanhouse's columnar
``TraceView``.

Upstream reads attribute values through pdata's typed getters, which return the zero value for
a value of another type: ``Int()`` of a string is 0, ``Bool()`` of an int is false, ``Str()``
of a bool is "". The ``as_int``/``as_bool``/``as_str`` helpers reproduce that, so the policies
match exactly the traces the collector's policies match (quirks included, see each policy).
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from spanhouse.model.attributes import BOOL, INT, STRING
from spanhouse.model.batch import SpanBatch
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import Verdict

Clock = Callable[[], float]
"""Seconds (e.g. ``time.monotonic``), injected so tests can drive time."""


@runtime_checkable
class Policy(Protocol):
    name: str

    def evaluate(self, trace: TraceView) -> Verdict: ...


class PolicyError(Exception):
    """A policy could not evaluate a trace (upstream returns ``Error`` with an error)."""


# pdata's typed getters on a (stored string, type code) pair ----------------------------------
def as_int(found: tuple[str, int]) -> int:
    text, code = found
    return int(text) if code == INT else 0


def as_bool(found: tuple[str, int]) -> bool:
    text, code = found
    return code == BOOL and text == "true"


def as_str(found: tuple[str, int]) -> str:
    text, code = found
    return text if code == STRING else ""


ResourcePredicate = Callable[[SpanBatch, int], bool]   # (batch, resource index)
SpanPredicate = Callable[[SpanBatch, int], bool]       # (batch, span row)


def has_resource_or_span(trace: TraceView, on_resource: ResourcePredicate,
                         on_span: SpanPredicate) -> bool:
    """``hasResourceOrSpanWithCondition``: true as soon as one resource or one span passes."""
    for batch, rows in trace.parts:
        seen: set[int] = set()
        resource_index = batch.resource_index
        for row in rows:
            r = resource_index[row]
            if r not in seen:
                seen.add(r)
                if on_resource(batch, r):
                    return True
            if on_span(batch, row):
                return True
    return False


def every_resource_and_span(trace: TraceView, on_resource: ResourcePredicate,
                            on_span: SpanPredicate) -> bool:
    """``invertHasResourceOrSpanWithCondition``: true when every resource and span passes
    (an empty trace passes): no resource or span fails, in the same order of evaluation."""
    return not has_resource_or_span(trace, lambda batch, r: not on_resource(batch, r),
                                    lambda batch, row: not on_span(batch, row))


def has_span(trace: TraceView, on_span: SpanPredicate) -> bool:
    """``hasSpanWithCondition``: true as soon as one span passes (in arrival order)."""
    for batch, rows in trace.parts:
        for row in rows:
            if on_span(batch, row):
                return True
    return False
