"""OTLP/HTTP receiver: ``POST /v1/traces`` with protobuf or JSON bodies, optionally gzipped.

Responses follow the OTLP/HTTP spec: the success body is an ``ExportTraceServiceResponse`` and
an error body a ``google.rpc.Status``, both in the request's encoding; ``partial_success``
reports spans rejected one by one; overload is 429 with ``Retry-After`` (retryable by every
OTLP exporter), a store failure 503.
"""

from __future__ import annotations

import math

import orjson
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.errors import InvalidInput, Overloaded, PayloadTooLarge, StoreError, UnsupportedMediaType
from spanhouse.model.batch import DecodeResult
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.receivers.http_body import media_type, read_body
from spanhouse.receivers.ingest import Ingest

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RECEIVER = "otlp_http"

# gRPC status codes used in google.rpc.Status bodies.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE = 3, 8, 14


def _status_response(fmt: str, http_status: int, grpc_code: int, message: str,
                     headers: dict | None = None) -> Response:
    if fmt == JSON:
        body = orjson.dumps({"code": grpc_code, "message": message})
    else:
        fmt = PROTOBUF
        body = status_pb2.Status(code=grpc_code, message=message).SerializeToString()
    return Response(body, status_code=http_status, media_type=fmt, headers=headers)


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
        except UnsupportedMediaType as exc:
            ingest.refused(RECEIVER, "unsupported_media_type")
            return _status_response(JSON, 415, _INVALID_ARGUMENT, str(exc))
        except InvalidInput as exc:
            ingest.refused(RECEIVER, "invalid")
            return _status_response(fmt, 400, _INVALID_ARGUMENT, str(exc))
        except PayloadTooLarge as exc:
            ingest.refused(RECEIVER, "too_large")
            return _status_response(fmt, 413, _RESOURCE_EXHAUSTED, str(exc))
        except Overloaded as exc:
            retry = str(max(1, math.ceil(exc.retry_after_s)))
            return _status_response(fmt, 429, _RESOURCE_EXHAUSTED, str(exc), {"Retry-After": retry})
        except StoreError as exc:
            ingest.refused(RECEIVER, "store_unavailable")
            return _status_response(fmt, 503, _UNAVAILABLE, str(exc), {"Retry-After": "5"})
        return _success_response(fmt, result)

    return Starlette(routes=[Route("/v1/traces", export, methods=["POST"])])
