"""OTLP/HTTP receiver: ``POST /v1/traces`` with protobuf or JSON bodies, optionally gzipped.

Responses follow the OTLP/HTTP spec: the success body is an ``ExportTraceServiceResponse`` and
an error body a ``google.rpc.Status``, both in the request's encoding; ``partial_success``
reports spans rejected one by one; overload is 429 with ``Retry-After`` (retryable by every
OTLP exporter), a store failure 503.
"""

from __future__ import annotations

import orjson
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.errors import SpanhouseError, UnsupportedMediaType
from spanhouse.model.batch import DecodeResult
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.receivers.http_body import media_type, read_body
from spanhouse.receivers.ingest import Ingest
from spanhouse.receivers.refusal import Refusal, refuse

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RECEIVER = "otlp_http"


def _status_response(fmt: str, refusal: Refusal) -> Response:
    """The refusal as a ``google.rpc.Status`` in ``fmt`` (protobuf unless JSON)."""
    code = code_pb2.Code.Value(refusal.grpc_code)
    if fmt == JSON:
        body = orjson.dumps({"code": code, "message": refusal.message})
    else:
        fmt = PROTOBUF
        body = status_pb2.Status(code=code, message=refusal.message).SerializeToString()
    return Response(body, status_code=refusal.http_status, media_type=fmt,
                    headers=refusal.headers)


def _success_response(fmt: str, result: DecodeResult) -> Response:
    if fmt == JSON:
        payload: dict = {}
        if result.rejected:
            payload["partialSuccess"] = {
                "rejectedSpans": str(result.rejected), "errorMessage": result.error_message}
        return Response(orjson.dumps(payload), media_type=JSON)
    response = ExportTraceServiceResponse()
    if result.rejected:
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=result.rejected, error_message=result.error_message))
    return Response(response.SerializeToString(), media_type=PROTOBUF)


def create_app(ingest: Ingest, max_body_bytes: int) -> Starlette:
    # None: OTLP protobuf, which the receivers only check (``Ingest.submit``).
    decoders = {PROTOBUF: None, JSON: decode_json_bytes}

    async def export(request: Request) -> Response:
        fmt = media_type(request)
        try:
            if fmt not in decoders:
                raise UnsupportedMediaType(
                    f"unsupported Content-Type {fmt!r}: use {PROTOBUF} or {JSON}")
            body = await read_body(request, max_body_bytes)
            result = await ingest.submit(RECEIVER, decoders[fmt], body)
        except SpanhouseError as exc:
            # An unsupported Content-Type is answered in JSON: the sender's format is unknown.
            return _status_response(fmt if fmt in decoders else JSON,
                                    refuse(ingest, RECEIVER, exc))
        return _success_response(fmt, result)

    return Starlette(routes=[Route("/v1/traces", export, methods=["POST"])])
