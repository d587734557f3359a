"""Zipkin v2 receiver: ``POST /api/v2/spans`` with a JSON array of spans (202 Accepted).

Zipkin has no partial-success response, so spans rejected one by one are only counted in
``/metrics``; the rest are stored.
"""

from __future__ import annotations

import math

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spanhouse.errors import InvalidInput, Overloaded, PayloadTooLarge, StoreError
from spanhouse.model.zipkin import decode_zipkin_v2_json
from spanhouse.receivers.http_body import media_type, read_body
from spanhouse.receivers.ingest import Ingest

RECEIVER = "zipkin"


def create_app(ingest: Ingest, max_body_bytes: int) -> Starlette:
    async def spans(request: Request) -> Response:
        fmt = media_type(request)
        # Zipkin clients default to JSON; the proto3 encoding is not supported.
        if fmt not in ("", "application/json", "text/plain"):
            ingest.refused(RECEIVER, "unsupported_media_type")
            return PlainTextResponse(
                f"unsupported Content-Type {fmt!r}: Spanhouse accepts Zipkin v2 JSON (application/json)",
                status_code=415)
        try:
            body = await read_body(request, max_body_bytes)
            await ingest.submit(RECEIVER, decode_zipkin_v2_json, body)
        except InvalidInput as exc:
            ingest.refused(RECEIVER, "invalid")
            return PlainTextResponse(str(exc), status_code=400)
        except PayloadTooLarge as exc:
            ingest.refused(RECEIVER, "too_large")
            return PlainTextResponse(str(exc), status_code=413)
        except Overloaded as exc:
            return PlainTextResponse(str(exc), status_code=429,
                                     headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))})
        except StoreError as exc:
            ingest.refused(RECEIVER, "store_unavailable")
            return PlainTextResponse(str(exc), status_code=503, headers={"Retry-After": "5"})
        return Response(status_code=202)

    return Starlette(routes=[Route("/api/v2/spans", spans, methods=["POST"])])
