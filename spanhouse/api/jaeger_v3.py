"""Jaeger's api_v3 over HTTP (the grpc-gateway JSON shape), over ``QueryAPI``.

A port of jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/``
(``http_gateway.go``, ``query_parser.go``, ``summaries.go``; snapshots ``GetTrace.json``,
``FindTraces.json``, ``GetServices.json``, ``GetOperations.json``,
``FindTraceSummaries.json``):

============================================  =============================================
route                                         answer
============================================  =============================================
``GET /api/v3/services``                      ``{"services": [...]}`` (``[]`` when none)
``GET /api/v3/operations?service=&spanKind=`` ``{"operations": [{"name", "spanKind"}]}``,
                                              an unspecified kind written ``internal``
``GET /api/v3/traces/{trace_id}``             ``{"result": {"resourceSpans": [...]}}``
                                              (OTLP/JSON, ``otlp_json_out``)
``GET /api/v3/traces?query...``               the same, all found traces' resourceSpans
``GET /api/v3/trace-summaries?query...``      ``{"summaries": [...]}`` (below)
============================================  =============================================

Find parameters (``query_parser.go``): canonical camelCase names, each with its deprecated
snake_case alias (the canonical one wins when both are given): ``query.serviceName``
(``query.service_name``), ``query.operationName``, ``query.startTimeMin`` and
``query.startTimeMax`` (RFC 3339, both required, min strictly before max),
``query.durationMin``/``query.durationMax`` (Go durations, span-level as in Jaeger),
``query.searchDepth`` (``query.search_depth``, then ``query.num_traces``; default 100),
``query.attributes`` (a JSON object of strings), ``query.rawTraces``. GetTrace takes
``startTime``/``endTime`` (RFC 3339) and ``rawTraces``; operations take ``service`` and
``spanKind`` (``span_kind``).

Errors are ``{"error": {"httpCode", "message"}}`` with the status of the shared error boundary
(``boundary``): 400 ``malformed parameter <name>: <cause>`` or ``query.startTimeMin and
query.startTimeMax are required``; 404 ``No traces found`` when a trace lookup or a search finds
nothing (as upstream, a search without results is a 404); 503 for ``StoreError`` (upstream:
500; also a query stopped at ``max_execution_time``), 503 + ``Retry-After`` when every query
slot is taken (``QueryBusy``), 500 ``internal error`` otherwise. Free text (service, operation, attribute keys and
values) follows the one policy of every query API (``spanhouse.api.freetext``).

Trace summaries follow upstream's ``TraceSummary`` JSON (proto3 JSON, defaults omitted):
``traceId``, ``rootServiceName``, ``rootOperationName``, ``minStartTimeUnixNano`` and
``maxEndTimeUnixNano`` (strings), ``spanCount``, ``errorSpanCount``, ``services``
(``[{"name"}]``). From ``TraceSummary``: ``maxEndTimeUnixNano`` is start + the trace's duration
(its root's duration when it has a root), and ``orphanSpanCount`` and the per-service counts are
not known, so they are absent (which proto3 JSON readers take as 0).

Spanhouse deviations: ``searchDepth`` must be within 1..``MAX_LIMIT``; negative durations and
pre-1970 times are refused; ``spanKind`` must be a known kind; ``startTime``/``endTime`` of
GetTrace are validated but not passed on (``QueryAPI.get_trace`` takes an id only);
``rawTraces`` is validated and has no effect; the error body is ``application/json`` (Go's
``http.Error`` labels it text/plain).
"""

from __future__ import annotations

from typing import Any, Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.boundary import ErrorBoundary
from spanhouse.api.jaeger_params import (check_name, parse_nonnegative_duration, parse_span_kind,
                                         parse_trace_id)
from spanhouse.api.jaeger_tags import parse_string_map, tags_to_filters
from spanhouse.api.otlp_json_out import traces_data
from spanhouse.api.params import Params
from spanhouse.errors import InvalidInput, NotFound
from spanhouse.gotime import go_atoi, go_parse_bool, parse_rfc3339
from spanhouse.query.model import MAX_LIMIT, QueryAPI, SearchQuery, TraceSummary

DEFAULT_SEARCH_DEPTH = 100
NO_TRACES_FOUND = "No traces found"

PARAM_TRACE_ID = "trace_id"
# canonical name -> deprecated alias
START_TIME, END_TIME, RAW_TRACES = ("startTime", "start_time"), ("endTime", "end_time"), \
    ("rawTraces", "raw_traces")
SERVICE_NAME = ("query.serviceName", "query.service_name")
OPERATION_NAME = ("query.operationName", "query.operation_name")
TIME_MIN = ("query.startTimeMin", "query.start_time_min")
TIME_MAX = ("query.startTimeMax", "query.start_time_max")
SEARCH_DEPTH = ("query.searchDepth", "query.search_depth")
NUM_TRACES = "query.num_traces"
DURATION_MIN = ("query.durationMin", "query.duration_min")
DURATION_MAX = ("query.durationMax", "query.duration_max")
QUERY_RAW_TRACES = ("query.rawTraces", "query.raw_traces")
ATTRIBUTES = "query.attributes"
SPAN_KIND = ("spanKind", "span_kind")


def malformed(param: str, cause: Any) -> InvalidInput:
    return InvalidInput(f"malformed parameter {param}: {cause}")


def get_param(params: Params, names: tuple[str, str]) -> tuple[str | None, str]:
    """``getQueryParam``: (value or None, effective name), the canonical name first."""
    canonical, deprecated = names
    value = params.get(canonical)
    if value is not None:
        return value, canonical
    return params.get(deprecated), deprecated


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _error_body(request: Request, status: int, message: str) -> Response:
    """The grpc-gateway's error body."""
    if status == 404 and not message:
        message = NO_TRACES_FOUND
    return _json({"error": {"httpCode": status, "message": message}}, status)


BOUNDARY = ErrorBoundary("api_v3", _error_body)


def _time(value: str, name: str) -> int:
    try:
        ns = parse_rfc3339(value)
    except ValueError as exc:
        raise malformed(name, exc) from None
    if ns < 0:
        raise malformed(name, "must not be before 1970")
    return ns


def _bool(params: Params, names: tuple[str, str]) -> bool:
    value, name = get_param(params, names)
    if value is None:
        return False
    try:
        return go_parse_bool(value)
    except ValueError as exc:
        raise malformed(name, exc) from None


def _duration(params: Params, names: tuple[str, str]) -> int | None:
    value, name = get_param(params, names)
    if value is None:
        return None
    try:
        return parse_nonnegative_duration(value) or None
    except ValueError as exc:
        raise malformed(name, exc) from None


def parse_find_traces_query(source: Any) -> SearchQuery:
    """``parseFindTracesQuery`` -> ``SearchQuery`` (``InvalidInput`` on a bad parameter)."""
    params = Params(source)
    service, service_param = get_param(params, SERVICE_NAME)
    operation, operation_param = get_param(params, OPERATION_NAME)
    check_name(service_param, service)
    check_name(operation_param, operation)
    attributes: dict[str, str] = {}
    raw_attributes = params.get(ATTRIBUTES)
    if raw_attributes is not None:
        try:
            attributes = parse_string_map(raw_attributes)
        except ValueError as exc:
            raise malformed(ATTRIBUTES, exc) from None
    min_str, min_param = get_param(params, TIME_MIN)
    max_str, max_param = get_param(params, TIME_MAX)
    if min_str is None or max_str is None:
        raise InvalidInput(f"{TIME_MIN[0]} and {TIME_MAX[0]} are required")
    time_min = _time(min_str, min_param)
    time_max = _time(max_str, max_param)
    if not time_min < time_max:
        raise InvalidInput(f"{TIME_MIN[0]} must be before {TIME_MAX[0]}")
    depth_str, depth_param = get_param(params, SEARCH_DEPTH)
    if depth_str is None:
        depth_str, depth_param = params.get(NUM_TRACES), NUM_TRACES
    depth = DEFAULT_SEARCH_DEPTH
    if depth_str is not None:
        try:
            depth = go_atoi(depth_str)
        except ValueError as exc:
            raise malformed(depth_param, exc) from None
        if not 1 <= depth <= MAX_LIMIT:
            raise malformed(depth_param, f"{depth} is out of range [1, {MAX_LIMIT}]")
    duration_min = _duration(params, DURATION_MIN)
    duration_max = _duration(params, DURATION_MAX)
    _bool(params, QUERY_RAW_TRACES)
    filters, status = tags_to_filters(attributes, ATTRIBUTES)
    return SearchQuery(
        start_ns=time_min, end_ns=time_max, service=service,
        operation=operation, attributes=filters, status=status,
        span_min_duration_ns=duration_min, span_max_duration_ns=duration_max,
        limit=depth, sort="recent")


def summary_json(summary: TraceSummary) -> dict:
    """Upstream's ``TraceSummary`` JSON for one Spanhouse summary (defaults omitted)."""
    out: dict = {"traceId": summary.trace_id.lower()}
    if summary.root_service:
        out["rootServiceName"] = summary.root_service
    if summary.root_operation:
        out["rootOperationName"] = summary.root_operation
    if summary.start_ns > 0:
        out["minStartTimeUnixNano"] = str(summary.start_ns)
    end = summary.start_ns + max(summary.duration_ns, 0)
    if end > 0:
        out["maxEndTimeUnixNano"] = str(end)
    if summary.span_count:
        out["spanCount"] = summary.span_count
    if summary.error_count:
        out["errorSpanCount"] = summary.error_count
    if summary.services:
        out["services"] = [{"name": name} for name in summary.services]
    return out


class _Gateway:
    """The handlers: each returns the body to write as JSON, or raises."""

    def __init__(self, query: QueryAPI):
        self.query = query

    def route(self, path: str, handler: Callable) -> Route:
        async def endpoint(request: Request) -> Response:
            return _json(await handler(request))

        endpoint.__name__ = handler.__name__
        return BOUNDARY.route(path, endpoint)

    @staticmethod
    def _result(traces: list) -> dict:
        traces = [t for t in traces if t]
        if not traces:
            raise NotFound(NO_TRACES_FOUND)
        return {"result": traces_data(traces)}

    async def get_trace(self, request: Request) -> dict:
        raw_id = request.path_params[PARAM_TRACE_ID]
        try:
            trace_id = parse_trace_id(raw_id)
        except ValueError as exc:
            raise malformed(PARAM_TRACE_ID, exc) from None
        params = Params(request.query_params)
        for names in (START_TIME, END_TIME):
            value, name = get_param(params, names)
            if value:
                _time(value, name)
        _bool(params, RAW_TRACES)
        spans = await run_in_threadpool(self.query.get_trace, trace_id)
        return self._result([spans])

    async def find_traces(self, request: Request) -> dict:
        query = parse_find_traces_query(request.query_params)
        traces = await run_in_threadpool(self.query.find_traces, query)
        return self._result(list(traces or []))

    async def find_trace_summaries(self, request: Request) -> dict:
        query = parse_find_traces_query(request.query_params)
        summaries = await run_in_threadpool(self.query.search, query)
        return {"summaries": [summary_json(s) for s in summaries or []]}

    async def services(self, request: Request) -> dict:
        services = await run_in_threadpool(self.query.services)
        return {"services": list(services or [])}

    async def operations(self, request: Request) -> dict:
        params = Params(request.query_params)
        service = check_name("service", params.get("service"))
        kind_value, kind_param = get_param(params, SPAN_KIND)
        span_kind = parse_span_kind(kind_value, kind_param)
        operations = await run_in_threadpool(self.query.operations, service, span_kind)
        out = []
        for op in operations or []:
            item: dict = {}
            if op.name:
                item["name"] = op.name
            item["spanKind"] = op.span_kind or "internal"
            out.append(item)
        return {"operations": out}


def routes(query: QueryAPI) -> list[Route]:
    """api_v3's HTTP routes over ``query`` (mount at the app's root)."""
    g = _Gateway(query)
    return [
        g.route("/api/v3/services", g.services),
        g.route("/api/v3/operations", g.operations),
        g.route("/api/v3/traces", g.find_traces),
        g.route("/api/v3/traces/{trace_id}", g.get_trace),
        g.route("/api/v3/trace-summaries", g.find_trace_summaries),
    ]
