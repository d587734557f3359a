"""Query parameters of Jaeger's classic HTTP API -> ``SearchQuery``, with Jaeger's own error
messages.

A port of jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/
query_parser.go`` (the classic ``/api/traces`` and ``/api/dependencies`` parameters; cases of
its ``query_parser_test.go`` are in ``tests/api/test_jaeger_query_parser.py``), on the ports of
the Go standard library functions it leans on (``spanhouse.gotime``: ``time.ParseDuration``,
``strconv.ParseInt``/``ParseBool``), so that the same input gives the same answer or the same
message. Trace ids, span kinds and duration bounds are parsed as api_v3 parses them
(``jaeger_params``), tags by ``jaeger_tags``.

``/api/traces`` syntax (upstream's doc comment)::

    service=     operation=     limit=<int>     start=<unix µs>     end=<unix µs>
    minDuration=<Go duration>   maxDuration=<Go duration>
    tag=<key>:<value> (repeated)   tags=<JSON object of strings> (repeated)
    traceID=<hex> (repeated: fetch these traces, the other filters are ignored)   raw=<bool>

Unknown parameters are ignored, as Jaeger does; of a repeated single parameter the first value
counts (Go's ``FormValue``). Validation is Jaeger's plus what a shared backend needs (each
deviation is marked *Spanhouse* below):

- ``service`` is required unless ``traceID`` is given (``parameter 'service' is required``);
- ``maxDuration`` < ``minDuration`` -> ``'maxDuration' should be greater than 'minDuration'``;
- *Spanhouse*: ``start`` after ``end`` -> ``start time must be before end time`` (equal is
  allowed, as upstream's tests query ``start=0&end=0``); negative times or durations, and times
  past 2262 (nanoseconds overflow), are refused (Go would silently wrap them);
- *Spanhouse*: ``limit`` must be within 1..``MAX_LIMIT`` (Go accepts any int32);
- *Spanhouse*: ``lookback`` (which the Jaeger UI sends along with ``start``/``end`` and Jaeger
  ignores) is checked: ``custom``, a Go duration, or the UI's ``2d``/``1w`` forms; when
  ``start`` is absent it sets ``start = end - lookback`` (else the default is 48 h, Jaeger's
  ``traceQueryLookbackDuration``);
- *Spanhouse*: free text (service, operation, tag keys and values) follows the one policy of
  every query API (``spanhouse.api.freetext``): quotes, semicolons or SQL keywords are *not*
  refused, they are legitimate span data and reach the store only as bound parameters; control
  characters in names, empty tag keys and over-long text are. More than ``MAX_TRACE_IDS``
  ``traceID`` values are refused. Numbers, durations, times, booleans and ids are parsed
  strictly, so any SQL fragment there is a 400.

``minDuration``/``maxDuration`` are span-level, as in Jaeger (some span of the trace, matching
service/operation, lasts that long): they fill ``span_min_duration_ns``/``span_max_duration_ns``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from spanhouse.api.jaeger_params import (check_limit, check_name, parse_error,
                                         parse_nonnegative_duration, parse_trace_id)
from spanhouse.api.jaeger_tags import TAG, TAGS, parse_tags, tags_to_filters
from spanhouse.api.params import Params
from spanhouse.errors import InvalidInput
from spanhouse.gotime import (HOUR, MICROSECOND, MILLISECOND, UNITS, go_parse_bool, go_parse_int,
                              go_quote, parse_duration_ns)
from spanhouse.query.model import SearchQuery

DEFAULT_QUERY_LIMIT = 100                               # defaultQueryLimit
DEFAULT_TRACE_QUERY_LOOKBACK_NS = 48 * HOUR             # defaultTraceQueryLookbackDuration
DEFAULT_DEPENDENCY_LOOKBACK_NS = 24 * HOUR              # defaultDependencyLookbackDuration
MAX_TRACE_IDS = 100
MAX_INT64 = (1 << 63) - 1

# parameter names (query_parser.go / http_handler.go)
SERVICE, OPERATION = "service", "operation"
START, END, LIMIT = "start", "end", "limit"
MIN_DURATION, MAX_DURATION = "minDuration", "maxDuration"
TRACE_ID, RAW, LOOKBACK, END_TS = "traceID", "raw", "lookback", "endTs"

ERR_SERVICE_REQUIRED = "parameter 'service' is required"
ERR_MAX_LESS_THAN_MIN = "'maxDuration' should be greater than 'minDuration'"
ERR_START_AFTER_END = "start time must be before end time"

# the Jaeger UI's lookback also counts in days and weeks (``2d``, ``1w``)
UI_LOOKBACK_UNITS = {**UNITS, "d": 24 * HOUR, "w": 7 * 24 * HOUR}


@dataclass(frozen=True)
class TraceQueryParameters:
    """``traceQueryParameters``: the search, or the trace ids to fetch (then only the time
    window of ``query`` matters)."""

    query: SearchQuery
    trace_ids: tuple[str, ...] = ()
    raw_traces: bool = False


class QueryParser:
    """``queryParser``: ``now_ns`` and the default lookback are injectable for tests."""

    def __init__(self, trace_query_lookback_ns: int = DEFAULT_TRACE_QUERY_LOOKBACK_NS,
                 now_ns: Callable[[], int] = time.time_ns):
        self.trace_query_lookback_ns = trace_query_lookback_ns
        self.now_ns = now_ns

    # parseTime: "units" since the epoch; empty -> now (minus the lookback for ``start``)
    def parse_time(self, params: Params, name: str, unit_ns: int) -> int:
        value = params.get(name)
        if value is None:
            now = self.now_ns()
            if name == START:
                return now - self.trace_query_lookback_ns
            return now
        try:
            t = go_parse_int(value)
        except ValueError as exc:
            raise parse_error(name, exc) from None
        if t < 0:
            raise parse_error(name, "must not be before 1970")
        if t * unit_ns > MAX_INT64:
            raise parse_error(name, f"strconv.ParseInt: parsing {go_quote(value)}: "
                                    "value out of range")
        return t * unit_ns

    def parse_duration(self, params: Params, name: str, default: int = 0) -> int:
        value = params.get(name)
        if value is None:
            return default
        try:
            return parse_nonnegative_duration(value)
        except ValueError as exc:
            raise parse_error(name, exc) from None

    def parse_lookback(self, params: Params) -> int | None:
        """*Spanhouse*: the UI's ``lookback`` (``1h``, ``2d``, ``custom``); None when absent."""
        value = params.get(LOOKBACK)
        if value is None or value == "custom":
            return None
        try:
            d = parse_duration_ns(value, UI_LOOKBACK_UNITS)
        except ValueError as exc:
            raise parse_error(LOOKBACK, exc) from None
        if d <= 0:
            raise parse_error(LOOKBACK, "must be positive")
        return d

    def parse_trace_query_params(self, source: Any) -> TraceQueryParameters:
        """``parseTraceQueryParams`` for ``GET /api/traces``."""
        params = Params(source)
        service = check_name(SERVICE, params.get(SERVICE))
        operation = check_name(OPERATION, params.get(OPERATION))
        lookback = self.parse_lookback(params)
        start = self.parse_time(params, START, MICROSECOND)
        end = self.parse_time(params, END, MICROSECOND)
        if params.get(START) is None and lookback is not None:
            start = end - lookback
        tags = parse_tags(params.get_all(TAG), params.get_all(TAGS))
        limit = DEFAULT_QUERY_LIMIT
        raw_limit = params.get(LIMIT)
        if raw_limit is not None:
            try:
                limit = go_parse_int(raw_limit, 32)
            except ValueError as exc:   # upstream returns strconv's error unwrapped
                raise InvalidInput(str(exc)) from None
            check_limit(LIMIT, limit)
        min_duration = self.parse_duration(params, MIN_DURATION)
        max_duration = self.parse_duration(params, MAX_DURATION)
        trace_ids: list[str] = []
        if len(params.get_all(TRACE_ID)) > MAX_TRACE_IDS:
            raise parse_error(TRACE_ID, f"more than {MAX_TRACE_IDS} trace ids")
        for raw_id in params.get_all(TRACE_ID):
            try:
                trace_id = parse_trace_id(raw_id)
            except ValueError as exc:
                raise InvalidInput(f"cannot parse traceID param: {exc}") from None
            if trace_id not in trace_ids:
                trace_ids.append(trace_id)
        raw = _parse_raw(params)
        # validateQuery
        if not trace_ids and not service:
            raise InvalidInput(ERR_SERVICE_REQUIRED)
        if min_duration and max_duration and max_duration < min_duration:
            raise InvalidInput(ERR_MAX_LESS_THAN_MIN)
        if start > end:
            raise InvalidInput(ERR_START_AFTER_END)
        filters, status = tags_to_filters(tags)
        query = SearchQuery(
            start_ns=start, end_ns=end, service=service, operation=operation,
            attributes=filters, status=status,
            span_min_duration_ns=min_duration or None, span_max_duration_ns=max_duration or None,
            limit=limit, sort="recent")
        return TraceQueryParameters(query=query, trace_ids=tuple(trace_ids), raw_traces=raw)

    def parse_dependencies_query_params(self, source: Any) -> tuple[int, int]:
        """``parseDependenciesQueryParams``: ``endTs`` (Unix ms, default now) and ``lookback``
        (integer ms, default 24 h) -> ``(start_ns, end_ns)``."""
        params = Params(source)
        end = self.parse_time(params, END_TS, MILLISECOND)
        lookback = DEFAULT_DEPENDENCY_LOOKBACK_NS
        value = params.get(LOOKBACK)
        if value is not None:
            try:
                ms = go_parse_int(value)
            except ValueError as exc:
                raise parse_error(LOOKBACK, exc) from None
            if ms < 0:
                raise parse_error(LOOKBACK, "must not be negative")
            lookback = ms * MILLISECOND
        return max(end - lookback, 0), end

    def parse_get_trace_params(self, trace_id: str, source: Any) -> tuple[str, int | None,
                                                                         int | None, bool]:
        """``parseGetTraceParameters`` for ``GET /api/traces/{traceID}``: the id (32 hex
        digits), the optional ``start``/``end`` (µs -> ns) and ``raw``."""
        params = Params(source)
        try:
            tid = parse_trace_id(trace_id)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        start, end = (self.parse_time(params, name, MICROSECOND) if params.get(name) else None
                      for name in (START, END))
        return tid, start, end, _parse_raw(params)


def _parse_raw(params: Params) -> bool:
    """``raw`` (Go's ``ParseBool``; default false)."""
    value = params.get(RAW)
    if value is None:
        return False
    try:
        return go_parse_bool(value)
    except ValueError as exc:
        raise parse_error(RAW, exc) from None
