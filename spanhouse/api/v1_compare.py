"""``GET /api/v1/compare``: what is different about slow or failing traces.

``where`` (required) selects traces of the window (``duration>p95``, ``duration>1.5s``,
``error``; see ``spanhouse.analysis.compare.parse_where``); the window's other traces are the
baseline. ``since`` or ``start``/``end`` give the window (default: the last hour), ``service``
and ``operation`` narrow both groups to traces with that root, ``limit`` (default 10, at most
1000) caps the attribute values returned.

Answers ``{"data": CompareResult.to_json(), "query": {the effective parameters}}``; errors as
the rest of ``/api/v1``: ``{"error": {"status": N, "message": "..."}}`` with 400 for a bad
parameter, 503 when the store fails.
"""

from __future__ import annotations

from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from spanhouse.analysis.compare import DEFAULT_LIMIT, MAX_LIMIT, compare, parse_where
from spanhouse.api.params import Params
from spanhouse.api.v1_http import PREFIX, json_route
from spanhouse.api.v1_params import (Clock, local_now, name_param, parse_count, window,
                                     window_echo)
from spanhouse.errors import InvalidInput

PATH = f"{PREFIX}/compare"
PARAMETERS: tuple[str, ...] = ("where", "since", "start", "end", "service", "operation", "limit")


def routes(store, clock: Clock | None = None, compare_fn: Callable | None = None) -> list[Route]:
    """The compare route over ``store`` (an ``AnalysisStore``). ``clock`` (an aware datetime
    factory) fixes "now" and ``compare_fn`` replaces ``compare`` (tests)."""
    now: Clock = clock or local_now
    run_compare = compare_fn or compare

    async def handler(request: Request, params: Params):
        where = params.get("where")
        if where is None:
            raise InvalidInput("where: required, e.g. where=duration>p95 (or duration>1.5s, error)")
        selection = parse_where(where)
        start_ns, end_ns = window(params, now)
        service = name_param(params, "service")
        operation = name_param(params, "operation")
        limit = parse_count("limit", params.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
        result = await run_in_threadpool(run_compare, store, selection, start_ns, end_ns,
                                         service=service, operation=operation, limit=limit)
        return result.to_json(), {"where": selection.text, **window_echo(params, start_ns, end_ns),
                                  "service": service, "operation": operation, "limit": limit}

    return [json_route(PATH, PARAMETERS, handler)]
