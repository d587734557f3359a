"""What a TraceQL query answers, independent of any API's envelope.

The Tempo HTTP API (``spanhouse/api/tempo``), the CLI (``spanhouse q``) and the UI render these;
the engine (``spanhouse.query.traceql.engine.TraceQLEngine``) produces them. Times are Unix
nanoseconds; every count and rate is the sampling-aware estimate (each stored span weighted by
its ``AdjustedCount``), with the stored count beside it where one is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class MatchedSpan:
    span_id: str                    # 16 hex digits
    name: str
    service_name: str
    start_ns: int
    duration_ns: int
    # The attributes a query asks to see: its conditions' fields and ``select(...)``'s, by the
    # name Tempo gives them in a response (``span.http.route``, ``resource.service.name``,
    # ``status``, ...). Values are str, int, float or bool.
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass
class SpanSet:
    spans: list[MatchedSpan]        # at most ``spss`` of them, earliest first
    matched: int                    # how many spans matched (stored count, before ``spss``)
    # ``by(...)`` values and aggregate results of the pipeline, e.g. {"by(resource.service.name)":
    # "cart", "count()": 3}
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass
class TraceMatch:
    trace_id: str                   # 32 hex digits
    root_service_name: str          # "" when the root span is missing ("<root span not yet received>" is the API's to say)
    root_trace_name: str
    start_ns: int
    duration_ns: int
    span_sets: list[SpanSet]


@dataclass
class SearchResult:
    traces: list[TraceMatch]        # most recent first, at most ``limit``
    inspected_traces: int = 0
    inspected_spans: int = 0


@dataclass
class Series:
    # Label pairs in order, e.g. [("resource.service.name", "cart")]; quantile series carry
    # ("p", 0.9), histogram series ("__bucket", upper bound in seconds) as Tempo's do.
    labels: list[tuple[str, object]]
    samples: list[tuple[int, float]]     # (timestamp in ms, value), ascending; empty steps left out


@dataclass
class MetricsResult:
    series: list[Series]
    # True when values are weighted by AdjustedCount (the table has the column). The API says
    # so in its response metadata; the CLI and UI in a line under the chart.
    sampling_aware: bool = True
    inspected_spans: int = 0            # stored spans read
    # True when more series matched than the engine returns (the rest are left out; Tempo
    # answers such a partial response with a message).
    truncated: bool = False


class TraceQLQueries(Protocol):
    """The engine, as the APIs, the CLI and the UI see it. Methods are synchronous and
    thread-safe. Every method MUST raise ``spanhouse.errors.InvalidInput`` (400) for a query
    that does not parse or is not supported (the message says where and what), ``QueryTimeout``
    / ``QueryBusy`` as the query service does, and ``StoreError`` when the store fails."""

    def search(self, query: str, start_ns: int, end_ns: int, limit: int = 20,
               spss: int = 3) -> SearchResult:
        """Traces with at least one spanset the query keeps, in [start_ns, end_ns]. A
        metrics query is InvalidInput here."""

    def metrics_range(self, query: str, start_ns: int, end_ns: int,
                      step_ns: int) -> MetricsResult:
        """A metrics query (``... | rate()``) evaluated at every step of [start, end)."""

    def metrics_instant(self, query: str, start_ns: int, end_ns: int) -> MetricsResult:
        """A metrics query over the whole of [start, end): one sample per series."""

    def explain(self, query: str, start_ns: int, end_ns: int,
                step_ns: int | None = None) -> list[str]:
        """The SQL statements the query runs (parameters shown as ``{name:Type}``)."""
