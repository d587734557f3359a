"""The store's read contract: the ``Reader`` protocol and its frozen parameter and result types.

Every reader of the store (``QueryService`` in ``spanhouse.query.service``) implements
``Reader``: it takes these parameters and returns these results; the HTTP APIs (Jaeger
classic, api_v3, ``/api/v1``) and the CLI only translate to and from them. Times are Unix
nanoseconds, durations nanoseconds.

Conventions:

- A *trace's duration* is its root span's duration when the trace has a root (a span without
  parent), else last span end - first span start.
- A *trace's start* is its earliest span start.
- An *error* is a span whose status code is Error.
- *Estimated* counts weight each stored span (or trace, by its root or earliest span) by its
  ``AdjustedCount`` (1 when nothing was sampled): a trace kept at 5% counts as 20.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from spanhouse.model.span import SpanRecord

SORTS = ("recent", "slowest", "most_spans", "most_errors")
STATUSES = ("error", "ok", "unset")
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AttributeFilter:
    """``key == value`` (``op="eq"``), ``key`` present (``"exists"``) or ``key`` matching the
    RE2 regular expression ``value`` (``"regex"``), on a span attribute or, where said, the
    resource attributes of the span. Several filters are ANDed (each may match any span of
    the trace)."""

    key: str
    value: str = ""
    op: Literal["eq", "exists", "regex"] = "eq"


@dataclass(frozen=True)
class SearchQuery:
    start_ns: int
    end_ns: int
    service: str | None = None
    operation: str | None = None
    attributes: tuple[AttributeFilter, ...] = ()
    status: Literal["error", "ok", "unset"] | None = None
    # Span-level durations (Jaeger's minDuration/maxDuration): some span of the trace that
    # matches service/operation lasts within the range.
    span_min_duration_ns: int | None = None
    span_max_duration_ns: int | None = None
    # Trace-level durations: the trace's duration (see module docstring) within the range.
    trace_min_duration_ns: int | None = None
    trace_max_duration_ns: int | None = None
    limit: int = 20
    sort: Literal["recent", "slowest", "most_spans", "most_errors"] = "recent"


@dataclass(frozen=True)
class TraceSummary:
    trace_id: str
    root_service: str
    root_operation: str
    start_ns: int
    duration_ns: int
    span_count: int
    error_count: int
    services: tuple[str, ...]
    estimated_count: float = 1.0      # the trace's adjusted count (its root's, else earliest span's)

    def to_json(self) -> dict:
        """The trace summary of DESIGN.md (the CLI's ``--json`` and ``/api/v1``)."""
        return {
            "trace_id": self.trace_id,
            "root_service": self.root_service,
            "root_operation": self.root_operation,
            "start": rfc3339(self.start_ns),
            "duration_ms": round(self.duration_ns / 1e6, 3),
            "span_count": self.span_count,
            "error_count": self.error_count,
            "services": list(self.services),
            "estimated_count": self.estimated_count,
        }


@dataclass(frozen=True)
class TopOperation:
    """One of a service's most frequent failing operations, with what makes it telling."""

    name: str
    count: int                        # stored error spans
    estimated: float                  # their estimate
    route: str = ""                   # http.route, else url.path, else http.target
    peer: str = ""                    # peer.service, else server.address, else net.peer.name

    @property
    def label(self) -> str:
        """``POST /orders/{id} → payment``: the name, its route unless the name says it, and
        the peer."""
        text = self.name
        if self.route and self.route not in self.name:
            text += " " + self.route
        if self.peer:
            text += " → " + self.peer
        return text

    def to_json(self) -> dict:
        return {"operation": self.name, "label": self.label, "route": self.route,
                "peer": self.peer, "estimated_count": round(self.estimated, 3),
                "count": self.count}


@dataclass(frozen=True)
class ErrorBucket:
    """Errors over time: estimates in ``[start_ns, start_ns + step)``."""

    start_ns: int
    errors: float                     # estimated error requests (entry spans with status Error)
    error_spans: float                # estimated error spans
    requests: float                   # estimated requests (entry spans)

    def to_json(self) -> dict:
        return {"t": rfc3339(self.start_ns), "t_ns": self.start_ns,
                "errors": round(self.errors, 3), "error_spans": round(self.error_spans, 3),
                "requests": round(self.requests, 3)}


@dataclass(frozen=True)
class ServiceErrors:
    service: str
    error_spans: int                  # stored spans of the service with status Error
    error_traces: int                 # distinct traces with such a span
    requests: int                     # stored entry spans of the service (SERVER/CONSUMER, or roots)
    error_rate: float                 # stored: error entry spans / requests (0 when no requests)
    estimated_error_spans: float
    estimated_requests: float
    estimated_error_rate: float       # THE headline: estimated error requests / requests
    origin_spans: int                 # error spans none of whose children is an error
    role: Literal["origin", "propagates", "both"]
    top_messages: tuple[tuple[str, int], ...] = ()       # (message, stored count)
    top_operations: tuple[tuple[str, int], ...] = ()     # (span name, stored count)
    estimated_error_requests: float = 0.0
    message_estimates: tuple[float, ...] = ()            # the estimate of each top message
    operation_details: tuple[TopOperation, ...] = ()     # by name, route and peer
    series: tuple[ErrorBucket, ...] = ()                 # errors over time, every bucket
    series_step_ns: int = 0

    def to_json(self) -> dict:
        estimates = self.message_estimates or tuple(float(c) for _, c in self.top_messages)
        operations = self.operation_details or tuple(
            TopOperation(name, count, float(count)) for name, count in self.top_operations)
        return {
            "service": self.service, "role": self.role,
            "estimated_error_rate": self.estimated_error_rate,
            "estimated_error_requests": self.estimated_error_requests,
            "estimated_error_spans": self.estimated_error_spans,
            "estimated_requests": self.estimated_requests,
            "error_rate": self.error_rate, "error_spans": self.error_spans,
            "error_traces": self.error_traces, "requests": self.requests,
            "origin_spans": self.origin_spans,
            "top_messages": [{"message": m, "estimated_count": round(e, 3), "count": c}
                             for (m, c), e in zip(self.top_messages, estimates)],
            "top_operations": [o.to_json() for o in operations],
            "series": [b.to_json() for b in self.series],
            "series_step_ms": self.series_step_ns // 1_000_000,
        }


@dataclass(frozen=True)
class Dependency:
    """An edge of the service map. ``kind`` "call": spans of ``child`` whose parent span
    belongs to ``parent``; "context_lost": CLIENT spans of ``parent`` naming ``child`` (a
    service of the window) as their peer that have no child span at all (``peer``: the raw
    peer text). Counts are stored spans; ``estimated_*`` weight them by AdjustedCount
    (None: as stored); latencies are weighted quantiles of the callee's span duration
    (context_lost: of the client span), None when unknown."""

    parent: str                       # calling service
    child: str                        # called service
    call_count: int                   # stored calls
    error_count: int                  # of those, with status Error
    estimated_calls: float | None = None
    estimated_errors: float | None = None
    p50_ns: float | None = None
    p95_ns: float | None = None
    kind: Literal["call", "context_lost"] = "call"
    peer: str | None = None

    @property
    def calls(self) -> float:
        """The estimated calls (stored ones when no estimate is known)."""
        return float(self.call_count if self.estimated_calls is None else self.estimated_calls)

    @property
    def errors(self) -> float:
        return float(self.error_count if self.estimated_errors is None else self.estimated_errors)

    def to_json(self) -> dict:
        def ms(ns):
            return None if ns is None else round(ns / 1e6, 3)
        return {"parent": self.parent, "child": self.child, "kind": self.kind,
                "calls": round(self.calls, 3), "errors": round(self.errors, 3),
                "error_rate": self.errors / self.calls if self.calls else 0.0,
                "p50_ms": ms(self.p50_ns), "p95_ms": ms(self.p95_ns),
                "stored_calls": self.call_count, "stored_errors": self.error_count,
                "peer": self.peer, "callCount": self.call_count,
                "errorCount": self.error_count}


@dataclass(frozen=True)
class Operation:
    name: str
    span_kind: str                    # "server", "client", ... ("" when unspecified), as Jaeger


def rfc3339(ns: int) -> str:
    """Nanoseconds -> ``2026-11-24T10:31:00.123456Z`` (UTC, microseconds)."""
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.timezone.utc).isoformat(
        timespec="microseconds").replace("+00:00", "Z")


@runtime_checkable
class Reader(Protocol):
    """The store's read contract, as Jaeger v2's ``tracestore.Reader`` (``GetTraces``,
    ``GetServices``, ``GetOperations``, ``FindTraces``, ``FindTraceIDs``) plus what Spanhouse's
    API and CLI ask of a store beside it (the slowest traces, the attribute lookup, errors per
    service, and the service graph, Jaeger's ``depstore.Reader``).

    Implemented by ``spanhouse.query.service.QueryService``; the data-driven conformance suite
    (``tests/conformance``) runs every method against the embedded store and, with
    ``CLICKHOUSE_URL``, a ClickHouse server. ``spanhouse.store.tracestore.Writer`` is the write
    side: a reader MUST see every span whose ``Writer.write`` has returned.

    Every method MUST:

    - pass each value from a caller to SQL as a bound parameter, never as text;
    - raise ``spanhouse.errors.InvalidInput`` for a bad value (the APIs answer 400) and
      ``spanhouse.errors.StoreError`` when the store fails (503);
    - be synchronous and thread-safe (the HTTP app calls it from its thread pool), and return
      new objects owned by the caller.

    Windows are ``[start_ns, end_ns]``, both inclusive, on span start times; ``InvalidInput``
    when ``start_ns > end_ns`` or a time is not a whole number of nanoseconds >= 0. A
    ``limit`` MUST be from 1 to ``MAX_LIMIT``. A trace matches a window when one of its spans
    starts in it; its summary (``TraceSummary``) is computed over all of its spans, following
    the conventions of this module's docstring.
    """

    def get_trace(self, trace_id: str) -> list["SpanRecord"]:
        """Every stored span of the trace ``trace_id`` (32 hex digits, any case), ordered by
        start time then span id; [] when the store has none. MUST raise ``InvalidInput`` for a
        malformed id. A span written twice is returned twice."""

    def services(self) -> list[str]:
        """Every service name in the store (non-empty), sorted, each once."""

    def operations(self, service: str | None = None, span_kind: str | None = None) -> list[Operation]:
        """The distinct (span name, kind) pairs of ``service``'s spans, or of every service's,
        sorted by name then kind. Kinds are spelled as Jaeger's (``"server"``, ``"client"``,
        ``"producer"``, ``"consumer"``, ``"internal"``, ``""`` for unspecified); ``span_kind``
        keeps one of them, any other value is ``InvalidInput``."""

    def search(self, query: SearchQuery) -> list[TraceSummary]:
        """Summaries of the traces with a span in the window matching the span-level filters
        (service, operation, status and span duration on the same span) and, for each attribute
        filter, some span of the trace (or its resource) matching it; the trace-level duration
        range applies to the trace's duration. In ``query.sort`` order (ties: most recent start
        first, then trace id), at most ``query.limit``."""

    def find_traces(self, query: SearchQuery) -> list[list["SpanRecord"]]:
        """The traces ``search(query)`` finds, in its order, each as ``get_trace`` returns it."""

    def slowest(self, start_ns: int, end_ns: int, service: str | None = None,
                operation: str | None = None, attributes: tuple[AttributeFilter, ...] = (),
                limit: int = 20) -> list[TraceSummary]:
        """``search`` sorted ``slowest`` with the given filters, keeping only traces whose
        start (earliest span) lies in the window: longest trace duration first."""

    def errors_by_service(self, start_ns: int, end_ns: int) -> list[ServiceErrors]:
        """One ``ServiceErrors`` per service with an error span starting in the window, most
        error spans first (ties: service name). Requests are the service's entry spans (kind
        server or consumer, or roots) in the window; an origin is an error span none of whose
        children in the window is an error."""

    def find_by_attribute(self, key: str, value: str, at_ns: int, window_ns: int,
                          limit: int = 20) -> list[TraceSummary]:
        """Traces with a span whose attribute ``key``, or its resource's, equals ``value``,
        starting within ``[at_ns - window_ns, at_ns + window_ns]``; nearest start to ``at_ns``
        first (ties: earlier start, then trace id), at most ``limit``."""

    def dependencies(self, start_ns: int, end_ns: int) -> list[Dependency]:
        """Calls between services in the window: a child span and its parent span, both
        starting in the window, of different services, counted per (parent's service, child's
        service), with the calls whose child has status Error; sorted by parent, then child."""


QueryAPI = Reader
"""The name the API and CLI modules use for ``Reader``."""
