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
                                        ``service``
======================================  ===================================================

Errors: ``{"data": null, ..., "errors": [{"code", "msg"}]}`` with status 400 for bad
parameters (``InvalidInput``, including the store's), 404 for ``NotFound``, 503 for
``StoreError`` (Jaeger answers 500 for every storage failure; 503 tells clients to retry),
500 ``internal error`` for anything else. ``prettyPrint`` (any value but ``false``) indents by
four spaces, as Jaeger does.

Deviations: ``start``/``end`` of ``/api/traces/{traceID}`` (and of a ``traceID`` search) are
validated but not passed on (``QueryAPI.get_trace`` takes an id only); ``raw`` is validated and
has no effect (no query-time adjusters are applied anyway); an empty operation list is ``[]``
(Jaeger writes ``null``); responses are ``application/json`` also for errors.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.jaeger_json import envelope, jaeger_trace_id, trace_to_jaeger
from spanhouse.api.jaeger_query import (
    ERR_SERVICE_REQUIRED, PRETTY_PRINT, SERVICE, SPAN_KIND, Params, QueryParser, check_text,
    parse_span_kind, unique_operation_names,
)
from spanhouse.errors import InvalidInput, NotFound, SpanhouseError, StoreError
from spanhouse.query.model import QueryAPI

log = logging.getLogger(__name__)

TRACE_NOT_FOUND = "trace not found"


def _render(payload: Any, status_code: int, pretty: bool) -> Response:
    if pretty:
        body = json.dumps(payload, indent=4, ensure_ascii=False).encode("utf-8")
    else:
        body = orjson.dumps(payload)
    return Response(body, status_code=status_code, media_type="application/json")


def _pretty(request: Request) -> bool:
    value = Params(request.query_params).get(PRETTY_PRINT)
    return value not in ("", "false")


def error_response(status_code: int, message: str, pretty: bool = False) -> Response:
    """``handleError``: the envelope with one ``{"code", "msg"}``."""
    return _render(envelope(None, errors=[{"code": status_code, "msg": message}]),
                   status_code, pretty)


class _Handler:
    def __init__(self, query: QueryAPI, parser: QueryParser):
        self.query = query
        self.parser = parser

    async def call(self, fn: Callable, *args, **kwargs):
        return await run_in_threadpool(fn, *args, **kwargs)

    def wrap(self, handler: Callable) -> Callable:
        async def endpoint(request: Request) -> Response:
            pretty = _pretty(request)
            try:
                payload, status = await handler(request)
            except InvalidInput as exc:
                return error_response(400, str(exc), pretty)
            except NotFound as exc:
                return error_response(404, str(exc) or TRACE_NOT_FOUND, pretty)
            except StoreError as exc:
                return error_response(503, str(exc), pretty)
            except SpanhouseError as exc:
                log.exception("jaeger API: %s", exc)
                return error_response(500, str(exc), pretty)
            except Exception:  # noqa: BLE001 - never leak a traceback to the client
                log.exception("jaeger API: unexpected error on %s", request.url.path)
                return error_response(500, "internal error", pretty)
            return _render(payload, status, pretty)
        endpoint.__name__ = handler.__name__
        return endpoint

    # ------------------------------------------------------------------ routes
    async def services(self, request: Request):
        services = list(await self.call(self.query.services) or [])
        return envelope(services, total=len(services)), 200

    async def operations_legacy(self, request: Request):
        service = check_text(SERVICE, request.path_params["service"])
        operations = await self.call(self.query.operations, service, None)
        names = unique_operation_names(op.name for op in operations or [])
        return envelope(names, total=len(names)), 200

    async def operations(self, request: Request):
        params = Params(request.query_params)
        service = check_text(SERVICE, params.get(SERVICE))
        if not service:
            raise InvalidInput(ERR_SERVICE_REQUIRED)
        span_kind = parse_span_kind(params.get(SPAN_KIND))
        operations = list(await self.call(self.query.operations, service, span_kind) or [])
        data = [{"name": op.name, "spanKind": op.span_kind} for op in operations]
        return envelope(data, total=len(data)), 200

    async def search(self, request: Request):
        tq = self.parser.parse_trace_query_params(request.query_params)
        errors = []
        if tq.trace_ids:
            traces = []
            for trace_id in tq.trace_ids:
                try:
                    spans = await self.call(self.query.get_trace, trace_id)
                except NotFound:
                    spans = []
                if spans:
                    traces.append(spans)
                else:
                    errors.append({"msg": TRACE_NOT_FOUND, "traceID": jaeger_trace_id(trace_id)})
        else:
            traces = [t for t in await self.call(self.query.find_traces, tq.query) or [] if t]
        return envelope([trace_to_jaeger(t) for t in traces], errors=errors), 200

    async def get_trace(self, request: Request):
        trace_id, _start, _end, _raw = self.parser.parse_get_trace_params(
            request.path_params["traceID"], request.query_params)
        spans = await self.call(self.query.get_trace, trace_id)
        if not spans:
            return envelope(None, errors=[{"code": 404, "msg": TRACE_NOT_FOUND}]), 404
        return envelope([trace_to_jaeger(spans)]), 200

    async def dependencies(self, request: Request):
        params = Params(request.query_params)
        start, end = self.parser.parse_dependencies_query_params(params)
        service = check_text(SERVICE, params.get(SERVICE))
        links = await self.call(self.query.dependencies, start, end) or []
        summed: dict[tuple[str, str], int] = {}
        for dep in links:
            if service and service not in (dep.parent, dep.child):
                continue
            key = (dep.parent, dep.child)
            summed[key] = summed.get(key, 0) + dep.call_count
        data = [{"parent": p, "child": c, "callCount": n} for (p, c), n in summed.items()]
        return envelope(data), 200


def routes(query: QueryAPI, parser: QueryParser | None = None) -> list[Route]:
    """The classic Jaeger API's routes over ``query`` (mount at the app's root)."""
    h = _Handler(query, parser or QueryParser())
    return [
        Route("/api/services", h.wrap(h.services), methods=["GET"]),
        Route("/api/services/{service:path}/operations", h.wrap(h.operations_legacy),
              methods=["GET"]),
        Route("/api/operations", h.wrap(h.operations), methods=["GET"]),
        Route("/api/traces", h.wrap(h.search), methods=["GET"]),
        Route("/api/traces/{traceID}", h.wrap(h.get_trace), methods=["GET"]),
        Route("/api/dependencies", h.wrap(h.dependencies), methods=["GET"]),
    ]
