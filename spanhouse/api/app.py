"""The HTTP app on the UI port: health, metrics and the query API.

Store calls run on Starlette's thread pool (``run_in_threadpool``) with a reader borrowed from
a pool, so the event loop never waits on ClickHouse.
"""

from __future__ import annotations

from typing import Callable

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.api.jaeger_json import envelope, trace_to_jaeger
from spanhouse.errors import InvalidInput, StoreError
from spanhouse.store.pool import Pool
from spanhouse.telemetry import Telemetry


def json_response(payload, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def jaeger_error(status_code: int, message: str) -> Response:
    return json_response(envelope(None, errors=[{"code": status_code, "msg": message}]), status_code)


def create_app(readers: Pool, telemetry: Telemetry, is_ready: Callable[[], bool]) -> Starlette:
    async def healthz(request: Request) -> Response:
        if is_ready():
            return PlainTextResponse("ok")
        return PlainTextResponse("starting", status_code=503)

    async def metrics(request: Request) -> Response:
        body, content_type = telemetry.render()
        return Response(body, media_type=content_type)

    def fetch_trace(trace_id: str):
        with readers.borrow() as reader:
            return reader.get_trace(trace_id)

    async def get_trace(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        try:
            spans = await run_in_threadpool(fetch_trace, trace_id)
        except InvalidInput as exc:
            return jaeger_error(400, str(exc))
        except StoreError as exc:
            return jaeger_error(503, str(exc))
        if not spans:
            return jaeger_error(404, "trace not found")
        return json_response(envelope([trace_to_jaeger(spans)]))

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/api/traces/{trace_id}", get_trace),
    ])
