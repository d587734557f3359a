"""``TraceQLEngine``: the TraceQL queries (``results.TraceQLQueries``) over an analysis reader.

It parses (``parser.parse``), checks the window and the bounds, and hands the query to the
search (``search.py``) or to the metrics (``metrics.py``). It holds no client: every statement
runs through the reader's ``rows`` (the query service's pool, slots and timeouts), so every
value is a bound parameter and a store failure is a ``StoreError``.

Bounds (each refused with ``InvalidInput``):

- the window: ``start_ns < end_ns``, at most ``MAX_WINDOW_NS`` (7 days: Tempo's default
  ``max_duration`` of a search), whole nanoseconds >= 0;
- ``limit`` from 1 to ``MAX_LIMIT``, ``spss`` from 1 to ``MAX_SPSS``;
- the query text: the parser's bounds (``parser.MAX_QUERY_BYTES``, nesting, control
  characters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import check_ns
from spanhouse.query.traceql import metrics, parser, search as search_module
from spanhouse.query.traceql.results import MetricsResult, SearchResult

if TYPE_CHECKING:
    from spanhouse.analysis.store import AnalysisReader

MAX_WINDOW_NS = 7 * 24 * 3600 * 1_000_000_000
MAX_LIMIT = 1000
MAX_SPSS = 100


def _window(start_ns, end_ns) -> tuple[int, int]:
    start, end = check_ns(start_ns, "start"), check_ns(end_ns, "end")
    if start >= end:
        raise InvalidInput(f"start ({start}) must be before end ({end})")
    if end - start > MAX_WINDOW_NS:
        raise InvalidInput("the time range must be at most 7 days (168h)")
    return start, end


def _bounded(value, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidInput(f"{name} must be a whole number from 1 to {maximum}, not {value!r}")
    return value


class TraceQLEngine:
    """``results.TraceQLQueries`` over ``reader`` (thread-safe: it keeps no per-query state)."""

    def __init__(self, reader: "AnalysisReader"):
        self.reader = reader

    def search(self, query: str, start_ns: int, end_ns: int, limit: int = 20,
               spss: int = 3) -> SearchResult:
        start, end = _window(start_ns, end_ns)
        limit = _bounded(limit, "limit", MAX_LIMIT)
        spss = _bounded(spss, "spss", MAX_SPSS)
        parsed = parser.parse(query)
        if parsed.is_metrics:
            raise InvalidInput("a metrics query (| rate() ...) is not a search; "
                               "ask the metrics endpoints (query_range)")
        try:
            return search_module.search(self.reader, parsed, start, end, limit, spss)
        except RecursionError:      # the parser bounds nesting; this is a second fence
            raise InvalidInput("the query is nested too deeply") from None

    def metrics_range(self, query: str, start_ns: int, end_ns: int,
                      step_ns: int) -> MetricsResult:
        start, end = _window(start_ns, end_ns)
        parsed = self._metrics_query(query)
        return metrics.run_metrics(self.reader, parsed, start, end, step_ns)

    def metrics_instant(self, query: str, start_ns: int, end_ns: int) -> MetricsResult:
        start, end = _window(start_ns, end_ns)
        parsed = self._metrics_query(query)
        return metrics.run_metrics(self.reader, parsed, start, end, None)

    def explain(self, query: str, start_ns: int, end_ns: int,
                step_ns: int | None = None) -> list[str]:
        start, end = _window(start_ns, end_ns)
        parsed = parser.parse(query)
        if parsed.is_metrics:
            return metrics.metrics_sql(self.reader, parsed, start, end, step_ns)
        return search_module.statements(self.reader, parsed)

    @staticmethod
    def _metrics_query(query: str):
        parsed = parser.parse(query)
        if not parsed.is_metrics:
            raise InvalidInput("not a metrics query: add a metrics function, "
                               "e.g. '{ } | rate()'")
        return parsed
