"""The guard in front of every HTTP listener (OTLP/HTTP, Zipkin, the query/UI port): CORS
first (a preflight carries no credentials), then authentication.

CORS, on the receivers (``cors=`` given, possibly empty): as the collector's
confighttp.CORSConfig. A preflight (``OPTIONS`` with ``Origin``) from an allowed origin is
answered 204 with the CORS headers, from any other origin 403 without them; a request that
carries an ``Origin`` that is not allowed is refused with 403 before it is read (a browser
posting forged spans from another site). Requests without ``Origin`` (every SDK exporter and
``curl``) are not concerned.

Authentication: the request's header is checked by the listener's ``Authenticator``; no or a
wrong credential is 401 (with ``WWW-Authenticate`` when the authenticator has a challenge:
``Basic`` makes browsers prompt). ``open_paths`` stay open (``/healthz``, ``/readyz``: load
balancers probe them without credentials).
"""

from __future__ import annotations

from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spanhouse.config.listener import Cors
from spanhouse.extensions.auth import MESSAGE, Authenticator

# Always allowed in a preflight besides the configured ``allowed_headers`` (rs/cors' defaults
# and what an OTLP/HTTP sender sets).
DEFAULT_HEADERS = frozenset({"accept", "content-type", "content-encoding", "x-requested-with"})


class HttpGuard:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator | None = None,
                 cors: Cors | None = None, open_paths: tuple[str, ...] = (),
                 methods: str = "POST", on_refused: Callable[[str], None] | None = None):
        self.app = app
        self.authenticator = authenticator
        self.cors = cors
        self.open_paths = open_paths
        self.methods = methods
        self.on_refused = on_refused or (lambda reason: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = False
        if self.cors is not None:
            if scope["method"] == "OPTIONS":
                await self._preflight(origin, headers)(scope, receive, send)
                return
            allowed = origin is not None and self.cors.allows(origin)
            if origin is not None and not allowed:
                self.on_refused("origin_not_allowed")
                await PlainTextResponse(f"origin {origin!r} is not allowed",
                                        status_code=403)(scope, receive, send)
                return
        if self.authenticator is not None and scope["path"] not in self.open_paths:
            value = headers.get(self.authenticator.header)
            if self.authenticator.blocking and value:
                ok = await run_in_threadpool(self.authenticator.verify, value)
            else:
                ok = self.authenticator.verify(value)
            if not ok:
                self.on_refused("unauthenticated")
                response = PlainTextResponse(MESSAGE, status_code=401)
                if self.authenticator.challenge:
                    response.headers["WWW-Authenticate"] = self.authenticator.challenge
                if allowed:
                    _allow(response.headers, origin)
                await response(scope, receive, send)
                return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                _allow(MutableHeaders(scope=message), origin)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str | None, headers: Headers) -> Response:
        if origin is None:  # a plain OPTIONS: say what the path takes
            return Response(status_code=204, headers={"Allow": f"{self.methods}, OPTIONS"})
        assert self.cors is not None
        if not self.cors.allows(origin):
            self.on_refused("origin_not_allowed")
            return PlainTextResponse(f"origin {origin!r} is not allowed", status_code=403)
        method = headers.get("access-control-request-method", "")
        if method and method.upper() not in self.methods.split(", "):
            return PlainTextResponse(f"method {method!r} is not allowed", status_code=403)
        requested = [h.strip().lower() for h in
                     headers.get("access-control-request-headers", "").split(",") if h.strip()]
        allowed_headers = DEFAULT_HEADERS | set(self.cors.allowed_headers)
        refused = [h for h in requested if h not in allowed_headers and "*" not in allowed_headers]
        if refused:
            return PlainTextResponse(f"headers not allowed: {', '.join(refused)}", status_code=403)
        response = Response(status_code=204)
        _allow(response.headers, origin)
        response.headers["Access-Control-Allow-Methods"] = self.methods
        if requested:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(requested)
        if self.cors.max_age_s:
            response.headers["Access-Control-Max-Age"] = str(self.cors.max_age_s)
        response.headers["Vary"] = ("Origin, Access-Control-Request-Method, "
                                    "Access-Control-Request-Headers")
        return response


def _allow(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers.add_vary_header("Origin")
