"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

The handler takes the raw request bytes and decodes them itself, so a malformed message is
answered with INVALID_ARGUMENT (grpcio's own deserializer would turn it into INTERNAL).
gzip-compressed requests are inflated by gRPC; the message size limit applies after
decompression. Overload is RESOURCE_EXHAUSTED with a ``RetryInfo``, both in the status details
and in the ``google.rpc.retryinfo-bin`` trailer that the OpenTelemetry SDK exporters read.
"""

from __future__ import annotations

import random
from typing import Sequence

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from spanhouse.errors import Overloaded, SpanhouseError
from spanhouse.listeners import GRPC_MAX_CONCURRENT_RPCS, grpc_server_options
from spanhouse.receivers.ingest import Ingest
from spanhouse.receivers.refusal import Refusal, refuse

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
RECEIVER = "otlp_grpc"


def _retry_status(refusal: Refusal) -> tuple[grpc.StatusCode, str, tuple]:
    # Jittered (0.5x to 1.5x): senders refused together must not all come back at the same
    # instant, or the same ones lose every race for the freed queue room until their
    # exporter's retry budget (6 attempts in the Python SDK) runs out.
    delay = max(0.05, refusal.retry_after_s * random.uniform(0.5, 1.5))
    seconds = int(delay)
    retry_info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
        seconds=seconds, nanos=int((delay - seconds) * 1e9)))
    detail = any_pb2.Any()
    detail.Pack(retry_info)
    status = rpc_status.to_status(status_pb2.Status(
        code=code_pb2.Code.Value(refusal.grpc_code), message=refusal.message, details=[detail]))
    trailers = tuple(status.trailing_metadata) + (
        ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),)
    return status.code, status.details, trailers


class TraceServiceHandler:
    def __init__(self, ingest: Ingest):
        self.ingest = ingest

    async def export(self, body: bytes, context: grpc.aio.ServicerContext) -> ExportTraceServiceResponse:
        try:
            result = await self.ingest.submit(RECEIVER, None, body)
        except SpanhouseError as exc:
            refusal = refuse(self.ingest, RECEIVER, exc)
            if isinstance(exc, Overloaded):  # RetryInfo: the SDKs retry RESOURCE_EXHAUSTED with it
                await context.abort(*_retry_status(refusal))
            await context.abort(grpc.StatusCode[refusal.grpc_code], refusal.message)
        response = ExportTraceServiceResponse()
        if result.rejected:
            response.partial_success.CopyFrom(ExportTracePartialSuccess(
                rejected_spans=result.rejected, error_message=result.error_message))
        return response

    def generic_handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(
                self.export,
                request_deserializer=None,  # raw bytes: we decode (and validate) ourselves
                response_serializer=ExportTraceServiceResponse.SerializeToString,
            ),
        })


def create_server(ingest: Ingest, max_message_bytes: int,
                  interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> grpc.aio.Server:
    """The server, with the connection limits of ``spanhouse.listeners`` and ``interceptors``
    (the authenticator's, ``spanhouse.extensions.grpc_guard``); its port is added by the
    caller (with TLS credentials or not)."""
    server = grpc.aio.server(options=grpc_server_options(max_message_bytes),
                             maximum_concurrent_rpcs=GRPC_MAX_CONCURRENT_RPCS,
                             interceptors=list(interceptors))
    server.add_generic_rpc_handlers((TraceServiceHandler(ingest).generic_handler(),))
    return server
