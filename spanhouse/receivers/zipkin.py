"""Zipkin v2 receiver: ``POST /api/v2/spans`` with a JSON array of spans (202 Accepted).

Zipkin has no partial-success response, so spans rejected one by one are only counted in
``/metrics``; the rest are stored. As a component (``FACTORY``), the collector's ``zipkin``
receiver: its settings say where it listens; the server starts the listener.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.component import BuildContext, Factory
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
            # Zipkin clients default to JSON; the proto3 encoding is not supported.
            if fmt not in ("", "application/json", "text/plain"):
                raise UnsupportedMediaType(
                    f"unsupported Content-Type {fmt!r}: Spanhouse accepts Zipkin v2 JSON "
                    "(application/json)")
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

    @property
    def describe(self) -> str:
        return self.zipkin


def _create(component_id: str, section: Section, context: BuildContext) -> ZipkinReceiverSettings:
    s = section.allow("endpoint", "parse_string_tags")
    endpoint = s.string("endpoint", "0.0.0.0:9411")
    s.boolean("parse_string_tags", False)
    return ZipkinReceiverSettings(endpoint)


FACTORY = Factory("receiver", "zipkin", _create)
