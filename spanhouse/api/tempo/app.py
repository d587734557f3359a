"""Grafana Tempo's HTTP API (its query frontend's paths, ``pkg/api/http.go``) over Spanhouse.

``routes(engine, query_service, prefix)`` are the routes, for Tempo's own port (``--tempo``,
``create_tempo_app``) and for the UI port under ``/tempo``; ``explain_routes(engine)`` is
Spanhouse's ``/api/v1/traceql/explain`` for the UI port. Every store call runs on Starlette's
thread pool. Errors are answered as Tempo answers them: the status from the one translation
table (``spanhouse.errors``), the message as plain text.
"""

from __future__ import annotations

import json
import re
from importlib import metadata

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.analysis.store import AnalysisReader, AnalysisStore
from spanhouse.api.boundary import ErrorBoundary
from spanhouse.api.params import Params
from spanhouse.api.tempo import legacy, params as tp, shapes, traces
from spanhouse.api.tempo.catalog import TagCatalog
from spanhouse.api.tempo.tags import split_tag, virtual_values_v1
from spanhouse.errors import InvalidInput
from spanhouse.model.ids import normalize_trace_id
from spanhouse.query.traceql.results import TraceQLQueries
from spanhouse.telemetry import Telemetry

# Grafana compares this with semver (datasource.ts ``isFeatureAvailable``): a Tempo version at
# or above every feature's minimum (streaming search 2.2.0, streaming metrics 2.7.0) keeps the
# TraceQL editor, search and metrics on; streaming itself stays off because it is a per data
# source toggle (and a gRPC API Spanhouse does not serve). The build metadata names Spanhouse.
TEMPO_VERSION = "2.7.0"


def _spanhouse_version() -> str:
    try:
        return metadata.version("spanhouse")
    except metadata.PackageNotFoundError:   # running from a source tree without install
        return "0.0.0"


# Prometheus' ``PrometheusVersion`` fields, which Tempo's /api/status/buildinfo encodes.
BUILD_INFO = {"version": f"{TEMPO_VERSION}+spanhouse.{_spanhouse_version()}",
              "revision": "spanhouse", "branch": "spanhouse", "buildUser": "", "buildDate": "",
              "goVersion": "none (Spanhouse, Python)"}


def _text(request: Request, status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


BOUNDARY = ErrorBoundary("tempo", _text)


def _json(body, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    media_type="application/json", headers=headers)


_PARSE_ERROR = re.compile(r"line \d+, col \d+")


def _engine_call(function, *args):
    """Run an engine method; a parse error (``line 1, col 14: ...``) is prefixed as Tempo
    prefixes its own (``invalid TraceQL query: ...``)."""
    try:
        return function(*args)
    except InvalidInput as exc:
        if _PARSE_ERROR.match(str(exc)):
            raise InvalidInput(f"invalid TraceQL query: {exc}") from None
        raise


class _Handlers:
    def __init__(self, engine: TraceQLQueries, query_service, catalog: TagCatalog):
        self.engine = engine
        self.query_service = query_service
        self.catalog = catalog

    async def echo(self, request: Request) -> Response:
        return PlainTextResponse("echo\n")

    async def buildinfo(self, request: Request) -> Response:
        return _json(BUILD_INFO)

    async def search(self, request: Request) -> Response:
        params = Params(request.query_params)
        q, tags_text = params.get("q"), params.get("tags")
        if q and tags_text:
            raise InvalidInput("invalid request: can't specify tags and q in the same query")
        start, end = tp.seconds_window(params)
        min_ms = tp.go_duration_ns(params.get("minDuration"), "minDuration") // tp.MS \
            if params.get("minDuration") else 0
        max_ms = tp.go_duration_ns(params.get("maxDuration"), "maxDuration") // tp.MS \
            if params.get("maxDuration") else 0
        if min_ms and max_ms and min_ms > max_ms:
            raise InvalidInput("invalid maxDuration: must be greater than minDuration")
        limit = tp.positive(params, "limit", tp.DEFAULT_LIMIT)
        spss = tp.positive(params, "spss", tp.DEFAULT_SPSS)
        if not q:
            # As Tempo: the durations filter old-style (tags) searches only.
            q = legacy.to_traceql(legacy.parse_logfmt(tags_text or ""), min_ms * tp.MS,
                                  max_ms * tp.MS)
        result = await run_in_threadpool(_engine_call, self.engine.search, q, start, end,
                                         limit, spss)
        return _json(shapes.search_json(result))

    async def search_tags(self, request: Request) -> Response:
        params = Params(request.query_params)
        start, end = tp.seconds_window(params)
        found = await run_in_threadpool(self.catalog.names, params.get("scope"), start, end,
                                        params.get("q"))
        names = sorted({name for scope, values in found.items() if scope != "intrinsic"
                        for name in values})
        return _json({"tagNames": names, "metrics": {}})

    async def search_tags_v2(self, request: Request) -> Response:
        params = Params(request.query_params)
        start, end = tp.seconds_window(params)
        found = await run_in_threadpool(self.catalog.names, params.get("scope"), start, end,
                                        params.get("q"))
        return _json({"scopes": [{"name": scope, "tags": names}
                                 for scope, names in found.items() if names],
                      "metrics": {}})

    async def tag_values(self, request: Request) -> Response:
        virtual = virtual_values_v1(request.path_params["tag"])
        if virtual is not None:
            return _json({"tagValues": virtual, "metrics": {}})
        pairs = await self._values(request, v2=False)
        return _json({"tagValues": [value for _type, value in pairs], "metrics": {}})

    async def tag_values_v2(self, request: Request) -> Response:
        pairs = await self._values(request, v2=True)
        return _json({"tagValues": [{"type": t, "value": v} for t, v in pairs],
                      "metrics": {}})

    async def _values(self, request: Request, v2: bool) -> list[tuple[str, str]]:
        params = Params(request.query_params)
        tag = split_tag(request.path_params["tag"], v2)
        start, end = tp.seconds_window(params)
        return await run_in_threadpool(self.catalog.values, tag, start, end, params.get("q"))

    async def trace_v1(self, request: Request) -> Response:
        spans = await self._trace(request)
        if not spans:
            return Response(b"", status_code=404)
        body, media = traces.v1_body(spans, traces.wants_protobuf(request.headers.get("accept")))
        return Response(body, media_type=media)

    async def trace_v2(self, request: Request) -> Response:
        spans = await self._trace(request)
        body, media = traces.v2_body(spans, traces.wants_protobuf(request.headers.get("accept")))
        return Response(body, media_type=media)

    async def _trace(self, request: Request) -> list:
        trace_id = normalize_trace_id(request.path_params["trace_id"])
        if trace_id is None:
            raise InvalidInput("invalid trace id: expected 1 to 32 hex digits")
        params = Params(request.query_params)
        if params.get("q"):
            raise InvalidInput("q (a span filter on a trace) is not supported by Spanhouse: "
                               "the whole trace is returned without it")
        # span_pruning (sent by Grafana) is accepted and nothing is pruned: the answer is the
        # whole trace, as Tempo's is when pruning is off.
        for name in ("start", "end"):   # accepted and checked, as Tempo; a trace is read whole
            if params.get(name):
                tp.parse_uint(params.get(name), name, bits=63)
        return await run_in_threadpool(self.query_service.get_trace, trace_id)

    async def query_range(self, request: Request) -> Response:
        params = Params(request.query_params)
        q = tp.metrics_query(params)
        start, end = tp.metrics_window(params)
        step = tp.step_ns(params, start, end)
        result = await run_in_threadpool(_engine_call, self.engine.metrics_range, q, start,
                                         end, step)
        return _json(shapes.query_range_json(result), shapes.sampling_headers(result))

    async def query_instant(self, request: Request) -> Response:
        params = Params(request.query_params)
        q = tp.metrics_query(params)
        start, end = tp.metrics_window(params)
        result = await run_in_threadpool(_engine_call, self.engine.metrics_instant, q, start,
                                         end)
        return _json(shapes.query_instant_json(result), shapes.sampling_headers(result))


def routes(engine: TraceQLQueries, query_service, prefix: str = "",
           reader: AnalysisReader | None = None) -> list[Route]:
    """Tempo's routes under ``prefix`` ("" on the Tempo port, "/tempo" on the UI port).
    ``reader`` (default: an ``AnalysisStore`` over ``query_service``) serves the tag lists."""
    catalog = TagCatalog(reader or AnalysisStore(None, "", "", query=query_service))
    h = _Handlers(engine, query_service, catalog)
    table = [
        ("/api/echo", h.echo), ("/api/status/buildinfo", h.buildinfo),
        ("/api/search", h.search), ("/api/search/tags", h.search_tags),
        ("/api/v2/search/tags", h.search_tags_v2),
        ("/api/search/tag/{tag:path}/values", h.tag_values),
        ("/api/v2/search/tag/{tag:path}/values", h.tag_values_v2),
        ("/api/traces/{trace_id}", h.trace_v1), ("/api/v2/traces/{trace_id}", h.trace_v2),
        ("/api/metrics/query_range", h.query_range), ("/api/metrics/query", h.query_instant),
    ]
    return [BOUNDARY.route(prefix + path, endpoint) for path, endpoint in table]


def explain_routes(engine: TraceQLQueries) -> list[Route]:
    """Spanhouse's ``GET /api/v1/traceql/explain?q=&start=&end=&step=`` -> ``{"sql": [...]}``:
    the SQL a query runs (placeholders shown, values not), for ``spanhouse q --explain``.
    Times as the metrics endpoints take them; ``step`` only for a metrics query."""

    async def explain(request: Request) -> Response:
        params = Params(request.query_params)
        q = tp.metrics_query(params)
        start, end = tp.metrics_window(params)
        step = tp.step_ns(params, start, end)
        sql = await run_in_threadpool(_engine_call, engine.explain, q, start, end, step)
        return _json({"sql": list(sql)})

    return [BOUNDARY.route("/api/v1/traceql/explain", explain)]


def create_tempo_app(engine: TraceQLQueries, query_service, telemetry: Telemetry | None = None,
                     reader: AnalysisReader | None = None) -> Starlette:
    """The app of the ``--tempo`` port. ``telemetry`` is accepted for symmetry with the other
    listeners' apps (``/metrics`` stays on the UI port)."""
    return Starlette(routes=routes(engine, query_service, reader=reader))
