"""The HTTP app on the UI port: health, metrics, and the query APIs.

- Jaeger's classic JSON API (``/api/services``, ``/api/traces``, ...) and api_v3 (``/api/v3/...``),
  so Grafana's Jaeger data source and the Jaeger UI work unchanged;
- Spanhouse's own ``/api/v1/...`` (the three queries, search, trace, dependencies) described by
  ``/openapi.json``, and ``/api/v1/traceql/explain``;
- Grafana Tempo's API under ``/tempo`` (the same routes as the ``--tempo`` port), which the CLI's
  ``spanhouse q`` and the UI's TraceQL box call on this port.

Every store call runs on Starlette's thread pool (``run_in_threadpool``) through the
synchronous ``QueryAPI``, so the event loop never waits on ClickHouse.
"""

from __future__ import annotations

from typing import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.analysis.store import AnalysisStore
from spanhouse.api import jaeger, jaeger_v3, v1
from spanhouse.api.tempo.app import explain_routes, routes as tempo_routes
from spanhouse.query.model import QueryAPI
from spanhouse.query.traceql.results import TraceQLQueries
from spanhouse.telemetry import Telemetry
from spanhouse.ui.routes import routes as ui_routes


def create_app(query: QueryAPI, telemetry: Telemetry, is_ready: Callable[[], bool],
               analysis: AnalysisStore | None = None,
               readiness: Callable[[], tuple[bool, str]] | None = None,
               traceql: TraceQLQueries | None = None) -> Starlette:
    async def healthz(request: Request) -> Response:
        """Liveness: the process serves."""
        if is_ready():
            return PlainTextResponse("ok")
        return PlainTextResponse("starting", status_code=503)

    async def readyz(request: Request) -> Response:
        """Readiness: 503 with the reason while the store does not keep up."""
        ok, reason = readiness() if readiness is not None else (is_ready(), "starting")
        return PlainTextResponse(reason if ok or reason else "not ready",
                                 status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        body, content_type = telemetry.render()
        return Response(body, media_type=content_type)

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *jaeger.routes(query),
        *jaeger_v3.routes(query),
        *(_analysis_routes(analysis) if analysis is not None else []),
        # before v1's routes, whose last one answers 404 for any other /api/v1 path
        *(tempo_routes(traceql, query, prefix="/tempo", reader=analysis) + explain_routes(traceql)
          if traceql is not None else []),
        *v1.routes(query),  # after every /api/v1 route: it ends with the 404 for other /api/v1 paths
        *ui_routes(),
    ])


def _analysis_routes(analysis: AnalysisStore) -> list:
    from spanhouse.api import v1_bottleneck, v1_compare, v1_doctor

    return [*v1_bottleneck.routes(analysis), *v1_doctor.routes(analysis),
            *v1_compare.routes(analysis)]
