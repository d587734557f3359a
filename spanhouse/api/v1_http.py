"""How every ``/api/v1`` endpoint answers over HTTP (the query endpoints of ``v1`` and the
analyses of ``v1_bottleneck``, ``v1_compare`` and ``v1_doctor`` alike).

Success is ``{"data": ..., "query": {the effective parameters}}``; failure is
``{"error": {"status": N, "message": "..."}}`` with the status of ``spanhouse.errors``' table
(400 bad parameter, 404 unknown trace or endpoint, 503 store failure, a query stopped at
``max_execution_time`` (``QueryTimeout``) or refused because every query slot is taken
(``QueryBusy``, with ``Retry-After``), 500 for a bug), answered by the shared ``ErrorBoundary``. Bodies are JSON written by orjson: bytes as base64, sets as
sorted lists.
"""

from __future__ import annotations

import base64
from typing import Any, Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.boundary import ErrorBoundary
from spanhouse.api.params import Params

PREFIX = "/api/v1"

Handler = Callable[[Request, Params], Awaitable[tuple[Any, dict]]]
"""``handler(request, params) -> (data, query)``; raises typed errors."""


def _json_default(value: Any):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError


def json_response(payload, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload, default=_json_default), status_code=status_code,
                    media_type="application/json")


def _error_body(request: Request, status: int, message: str) -> Response:
    return json_response({"error": {"status": status, "message": message}}, status)


BOUNDARY = ErrorBoundary("/api/v1", _error_body, "internal error (see the server log)")


def json_route(path: str, accepted: tuple[str, ...], handler: Handler,
               repeatable: frozenset[str] = frozenset()) -> Route:
    """A GET route: the query parameters are checked against ``accepted`` (only ``repeatable``
    ones may be given more than once), then ``handler`` answers ``(data, query)``."""

    async def endpoint(request: Request) -> Response:
        params = Params(request.query_params).check_names(accepted, repeatable)
        data, query = await handler(request, params)
        return json_response({"data": data, "query": query})

    endpoint.__name__ = handler.__name__
    return BOUNDARY.route(path, endpoint)
