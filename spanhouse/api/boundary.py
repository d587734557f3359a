"""The one HTTP error boundary of the query APIs: typed errors -> statuses, in each API's envelope.

Handlers raise; none of them builds an error response. The status of an error is looked up in
``spanhouse.errors``' translation table, the one every boundary of Spanhouse shares
(``InvalidInput`` 400, ``NotFound`` 404, ``StoreError`` 503, ...); the message is the
exception's own text. Each API supplies only the shape of its error body (a ``Render``):
``/api/v1`` answers ``{"error": {"status", "message"}}``, Jaeger's ``/api/*`` its
``structuredResponse`` envelope, api_v3 the grpc-gateway body.

A refusal to retry later (``Overloaded``, e.g. ``QueryBusy``: every query slot taken, 503)
also carries ``Retry-After`` (whole seconds, at least 1), as the receivers' refusals do.

An exception the table does not know is a bug: it is logged with its traceback and answered 500
with the API's generic message (``internal_message``), never with its text, which could hold a
DSN or a query.
"""

from __future__ import annotations

import logging
import math
from typing import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.errors import UNEXPECTED, Overloaded, translate

log = logging.getLogger(__name__)

Render = Callable[[Request, int, str], Response]
"""``render(request, status, message)``: one API's error body."""
Endpoint = Callable[[Request], Awaitable[Response]]


class ErrorBoundary:
    """One API's error boundary: ``route`` guards an endpoint, ``response`` answers an error."""

    def __init__(self, api: str, render: Render, internal_message: str = "internal error"):
        self.api = api
        self.render = render
        self.internal_message = internal_message

    def response(self, request: Request, exc: Exception) -> Response:
        """The answer to ``exc`` raised while serving ``request``."""
        translation = translate(exc)
        if translation is UNEXPECTED:
            log.error("%s: %s %s failed", self.api, request.method, request.url.path,
                      exc_info=exc)
            return self.render(request, UNEXPECTED.http_status, self.internal_message)
        response = self.render(request, translation.http_status, str(exc))
        if isinstance(exc, Overloaded):
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return response

    def route(self, path: str, endpoint: Endpoint,
              methods: Sequence[str] | None = ("GET",)) -> Route:
        """A Starlette route whose errors this boundary answers."""

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Exception as exc:  # noqa: BLE001 - the boundary: typed or not, answered here
                return self.response(request, exc)

        return Route(path, guarded, methods=list(methods) if methods else None,
                     name=endpoint.__name__)
