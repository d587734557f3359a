"""Zipkin v2 receiver: ``POST /api/v2/spans`` with a JSON array of spans (202 Accepted).

Zipkin has no partial-success response, so spans rejected one by one are only counted in
``/metrics``; the rest are stored. Only ``application/json`` is accepted (``text/plain``,
which a browser may post from any web page without a CORS preflight, is 415). As a component
(``FACTORY``), the collector's ``zipkin`` receiver: its settings say where it listens
(default ``localhost:9411``) and its ``tls``, ``auth`` and ``cors``; the server starts the
listener.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.component import BuildContext, Factory
from spanhouse.config.listener import ListenerSecurity, parse_security
from spanhouse.config.section import Section
from spanhouse.errors import SpanhouseError, UnsupportedMediaType
from spanhouse.model.zipkin import decode_zipkin_v2_json
from spanhouse.receivers.http_body import media_type, read_body
from spanhouse.receivers.ingest import Ingest
from spanhouse.receivers.refusal import refuse

RECEIVER = "zipkin"


def create_app(ingest: Ingest, max_body_bytes: int) -> Starlette:
    async def spans(request: Request) -> Response:
        fmt = media_type(request)
        try:
            # Zipkin clients send JSON; the proto3 encoding is not supported. A CORS-safelisted
            # type (text/plain, a form) is refused: browsers post those cross-site unasked.
            if fmt != "application/json":
                raise UnsupportedMediaType(
                    f"unsupported Content-Type {fmt!r}: Spanhouse accepts Zipkin v2 JSON "
                    "(Content-Type: application/json)")
            body = await read_body(request, max_body_bytes)
            await ingest.submit(RECEIVER, decode_zipkin_v2_json, body)
        except SpanhouseError as exc:
            refusal = refuse(ingest, RECEIVER, exc)
            return PlainTextResponse(refusal.message, status_code=refusal.http_status,
                                     headers=refusal.headers)
        return Response(status_code=202)

    return Starlette(routes=[Route("/api/v2/spans", spans, methods=["POST"])])


# ------------------------------------------------------------------------------ the component
@dataclass(frozen=True)
class ZipkinReceiverSettings:
    zipkin: str   # where it listens (named as the server's --zipkin)
    zipkin_security: ListenerSecurity = ListenerSecurity()

    @property
    def security(self) -> dict[str, ListenerSecurity]:
        return {"zipkin": self.zipkin_security}

    @property
    def describe(self) -> str:
        extra = self.zipkin_security.describe
        return f"{self.zipkin} [{extra}]" if extra else self.zipkin


def _create(component_id: str, section: Section, context: BuildContext) -> ZipkinReceiverSettings:
    s = section.allow("endpoint", "parse_string_tags", "tls", "auth", "cors")
    endpoint = s.string("endpoint", "localhost:9411")
    s.boolean("parse_string_tags", False)
    return ZipkinReceiverSettings(endpoint, parse_security(s, http=True))


FACTORY = Factory("receiver", "zipkin", _create)
