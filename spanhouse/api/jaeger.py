"""Jaeger's classic HTTP JSON API (what the Jaeger UI reads), over ``QueryAPI``.

A port of jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/
http_handler.go``; parameters are parsed by ``jaeger_query`` and traces translated by
``jaeger_json``. Every answer is Jaeger's ``structuredResponse`` envelope
``{"data", "total", "limit", "offset", "errors"}``:

======================================  ===================================================
route                                   ``data``
======================================  ===================================================
``GET /api/services``                   service names (``total`` = their number)
``GET /api/services/{service}/          unique operation names of the service, sorted
operations``                            (``total`` = their number)
``GET /api/operations?service=&         ``[{"name", "spanKind"}]`` (``service`` required)
spanKind=``
``GET /api/traces?...``                 full traces (``total`` 0, as Jaeger leaves it); with
                                        ``traceID=``: those traces, and one ``errors`` entry
                                        ``{"msg": "trace not found", "traceID"}`` per miss
``GET /api/traces/{traceID}``           ``[trace]``; 404 ``trace not found`` when unknown
``GET /api/dependencies?endTs=&         ``[{"parent", "child", "callCount"}]``, summed per
lookback=&service=``                    (parent, child), optionally only the links touching
                                        ``service``; ``callCount`` is the ESTIMATED calls
                                        (weighted by AdjustedCount, rounded); edges where
                                        the trace context was lost are left out
======================================  ===================================================

Errors: ``{"data": null, ..., "errors": [{"code", "msg"}]}`` with the status of the shared
error boundary (``boundary``): 400 for bad parameters (``InvalidInput``, including the
store's), 404 for ``NotFound``, 503 for ``StoreError`` (Jaeger answers 500 for every storage
failure; 503 tells clients to retry) including a query stopped at ``max_execution_time``, 503 +
``Retry-After`` when every query slot is taken (``QueryBusy``), 500 ``internal error`` for
anything else.
``prettyPrint`` (any value but ``false``) indents by four spaces, as Jaeger does, errors
included.

Deviations: ``start``/``end`` of ``/api/traces/{traceID}`` (and of a ``traceID`` search) are
validated but not passed on (``QueryAPI.get_trace`` takes an id only); ``raw`` is validated and
has no effect (no query-time adjusters are applied anyway); an empty operation list is ``[]``
(Jaeger writes ``null``); responses are ``application/json`` also for errors.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.boundary import ErrorBoundary
from spanhouse.api.jaeger_json import envelope, jaeger_trace_id, trace_to_jaeger
from spanhouse.api.jaeger_params import SPAN_KIND, check_name, parse_span_kind
from spanhouse.api.jaeger_query import ERR_SERVICE_REQUIRED, SERVICE, QueryParser
from spanhouse.api.params import Params
from spanhouse.errors import InvalidInput, NotFound
from spanhouse.query.model import QueryAPI

TRACE_NOT_FOUND = "trace not found"
PRETTY_PRINT = "prettyPrint"


def _render(request: Request, payload: Any, status_code: int = 200) -> Response:
    if Params(request.query_params).get(PRETTY_PRINT) not in (None, "false"):
        body = json.dumps(payload, indent=4, ensure_ascii=False).encode("utf-8")
    else:
        body = orjson.dumps(payload)
    return Response(body, status_code=status_code, media_type="application/json")


def _error_body(request: Request, status_code: int, message: str) -> Response:
    """``handleError``: the envelope with one ``{"code", "msg"}``."""
    if status_code == 404 and not message:
        message = TRACE_NOT_FOUND
    return _render(request, envelope(None, errors=[{"code": status_code, "msg": message}]),
                   status_code)


BOUNDARY = ErrorBoundary("jaeger API", _error_body)


def unique_operation_names(names: Iterable[str]) -> list[str]:
    """``getUniqueOperationNames`` (sorted: upstream's order is a Go map's)."""
    return sorted(set(names))


class _Handler:
    """The handlers: each returns the ``structuredResponse`` to render, or raises."""

    def __init__(self, query: QueryAPI, parser: QueryParser):
        self.query = query
        self.parser = parser

    def route(self, path: str, handler: Callable) -> Route:
        async def endpoint(request: Request) -> Response:
            return _render(request, await handler(request))

        endpoint.__name__ = handler.__name__
        return BOUNDARY.route(path, endpoint)

    async def services(self, request: Request) -> dict:
        services = list(await run_in_threadpool(self.query.services) or [])
        return envelope(services, total=len(services))

    async def operations_legacy(self, request: Request) -> dict:
        service = check_name(SERVICE, request.path_params["service"])
        operations = await run_in_threadpool(self.query.operations, service, None)
        names = unique_operation_names(op.name for op in operations or [])
        return envelope(names, total=len(names))

    async def operations(self, request: Request) -> dict:
        params = Params(request.query_params)
        service = check_name(SERVICE, params.get(SERVICE))
        if not service:
            raise InvalidInput(ERR_SERVICE_REQUIRED)
        span_kind = parse_span_kind(params.get(SPAN_KIND))
        operations = list(await run_in_threadpool(self.query.operations, service, span_kind)
                          or [])
        data = [{"name": op.name, "spanKind": op.span_kind} for op in operations]
        return envelope(data, total=len(data))

    async def search(self, request: Request) -> dict:
        tq = self.parser.parse_trace_query_params(request.query_params)
        errors = []
        if tq.trace_ids:
            traces = []
            for trace_id in tq.trace_ids:
                try:
                    spans = await run_in_threadpool(self.query.get_trace, trace_id)
                except NotFound:
                    spans = []
                if spans:
                    traces.append(spans)
                else:
                    errors.append({"msg": TRACE_NOT_FOUND, "traceID": jaeger_trace_id(trace_id)})
        else:
            found = await run_in_threadpool(self.query.find_traces, tq.query)
            traces = [t for t in found or [] if t]
        return envelope([trace_to_jaeger(t) for t in traces], errors=errors)

    async def get_trace(self, request: Request) -> dict:
        trace_id, _start, _end, _raw = self.parser.parse_get_trace_params(
            request.path_params["traceID"], request.query_params)
        spans = await run_in_threadpool(self.query.get_trace, trace_id)
        if not spans:
            raise NotFound(TRACE_NOT_FOUND)
        return envelope([trace_to_jaeger(spans)])

    async def dependencies(self, request: Request) -> dict:
        params = Params(request.query_params)
        start, end = self.parser.parse_dependencies_query_params(params)
        service = check_name(SERVICE, params.get(SERVICE))
        links = await run_in_threadpool(self.query.dependencies, start, end) or []
        summed: dict[tuple[str, str], float] = {}
        for dep in links:
            if dep.kind != "call" or (service and service not in (dep.parent, dep.child)):
                continue
            key = (dep.parent, dep.child)
            summed[key] = summed.get(key, 0.0) + dep.calls      # the estimate
        data = [{"parent": p, "child": c, "callCount": round(n)} for (p, c), n in summed.items()]
        return envelope(data)


def routes(query: QueryAPI, parser: QueryParser | None = None) -> list[Route]:
    """The classic Jaeger API's routes over ``query`` (mount at the app's root)."""
    h = _Handler(query, parser or QueryParser())
    return [
        h.route("/api/services", h.services),
        h.route("/api/services/{service:path}/operations", h.operations_legacy),
        h.route("/api/operations", h.operations),
        h.route("/api/traces", h.search),
        h.route("/api/traces/{traceID}", h.get_trace),
        h.route("/api/dependencies", h.dependencies),
    ]
