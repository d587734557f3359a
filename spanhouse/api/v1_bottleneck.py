"""``/api/v1/bottleneck``: the critical path and bottleneck of one trace, and the bottlenecks of
an endpoint (``spanhouse.analysis.bottleneck``).

- ``GET /api/v1/bottleneck/{trace_id}``: ``data`` is ``TraceBottleneck.to_json()``; 404 when
  the trace is unknown.
- ``GET /api/v1/bottleneck?endpoint=SERVICE%20OPERATION`` (or ``service=`` and
  ``operation=``), with ``since=`` (default 1h) or ``start=``/``end=``, and ``max_traces=``
  (default 2000): ``data`` is ``EndpointBottlenecks.to_json()``. ``endpoint`` splits at its
  first space: the service, then the operation (root span name). Its figures are estimates
  (weighted by AdjustedCount): ``window.estimated_traces`` and ``median_duration_ms`` lead,
  ``stored_traces`` and ``stored_median_duration_ms`` follow.

Same conventions as ``spanhouse.api.v1`` (``v1_http``, ``v1_params``): ``{"data": ...,
"query": {effective parameters}}``, errors ``{"error": {"status", "message"}}`` (400 bad or
unknown parameter, 404 unknown trace, 503 store failure); the analyses run on the thread pool. Mount these routes before
``v1.routes`` (whose last route answers 404 for every other ``/api/v1/...`` path).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from spanhouse.analysis import bottleneck
from spanhouse.api.params import Params
from spanhouse.api.v1_http import PREFIX, json_route
from spanhouse.api.v1_params import (Clock, local_now, name_param, parse_count, parse_trace_id,
                                     window, window_echo)
from spanhouse.errors import InvalidInput

TRACE_PATH = f"{PREFIX}/bottleneck/{{trace_id}}"
ENDPOINT_PATH = f"{PREFIX}/bottleneck"
PARAMETERS: dict[str, tuple[str, ...]] = {
    TRACE_PATH: (),
    ENDPOINT_PATH: ("endpoint", "service", "operation", "since", "start", "end", "max_traces"),
}


def parse_endpoint(params: Params) -> tuple[str, str]:
    """(service, operation) from ``endpoint=SERVICE OPERATION`` or ``service``+``operation``."""
    endpoint = name_param(params, "endpoint")
    service = name_param(params, "service")
    operation = name_param(params, "operation")
    if endpoint is not None:
        if service is not None or operation is not None:
            raise InvalidInput("give either endpoint or service and operation, not both")
        service, _, operation = endpoint.strip().partition(" ")
        operation = operation.strip()
        if not service or not operation:
            raise InvalidInput("endpoint: expected the root service, a space and the root "
                               "operation, e.g. endpoint=api-gateway GET /checkout")
        return service, operation
    if service is None or operation is None:
        raise InvalidInput("bottleneck needs endpoint=SERVICE OPERATION (e.g. "
                           "endpoint=api-gateway GET /checkout) or service and operation")
    return service, operation


def routes(store, clock: Clock | None = None) -> list[Route]:
    """The two bottleneck routes over ``store`` (an ``AnalysisStore``); ``clock`` (an aware
    ``datetime`` factory; default: local now) fixes "now" for tests."""
    now: Clock = clock or local_now

    async def trace(request, params):
        trace_id = parse_trace_id(request.path_params["trace_id"])
        result = await run_in_threadpool(bottleneck.trace_bottleneck, store, trace_id)
        return result.to_json(), {"trace_id": trace_id}

    async def endpoint(request, params):
        service, operation = parse_endpoint(params)
        start_ns, end_ns = window(params, now)
        max_traces = parse_count("max_traces", params.get("max_traces"),
                                 bottleneck.DEFAULT_MAX_TRACES, bottleneck.MAX_TRACES)
        result = await run_in_threadpool(bottleneck.endpoint_bottlenecks, store, service,
                                         operation, start_ns, end_ns, max_traces)
        return result.to_json(), {**window_echo(params, start_ns, end_ns), "service": service,
                                  "operation": operation, "max_traces": max_traces}

    return [json_route(TRACE_PATH, PARAMETERS[TRACE_PATH], trace),
            json_route(ENDPOINT_PATH, PARAMETERS[ENDPOINT_PATH], endpoint)]
