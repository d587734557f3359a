"""OTLP/gRPC: one unary ``TraceService/Export`` call per attempt, and the gRPC status codes
classified as the OTLP spec and the collector's ``otlp`` exporter do.

Retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
RESOURCE_EXHAUSTED only when the server sent a ``RetryInfo`` (its delay is the throttling
hint). Everything else (INVALID_ARGUMENT, ...) is permanent.
"""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanhouse.exporters.otlp.config import GrpcSettings
from spanhouse.exporters.otlp.transport import SendError
from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_encode import encode_request

TRACE_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

_GRPC_RETRYABLE = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})


class GrpcTransport:
    """A grpcio channel to ``settings.target`` (TLS per ``settings.use_tls``)."""

    def __init__(self, settings: GrpcSettings):
        self.settings = settings
        # gRPC metadata keys are lowercase
        self.metadata = tuple((k.lower(), v) for k, v in settings.headers.items())
        self._channel: grpc.Channel | None = None
        self._call = None

    def open(self) -> None:
        s = self.settings
        options = list(s.options)
        if s.use_tls:
            def read(path: str) -> bytes | None:
                if not path:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(
                root_certificates=read(s.tls.ca_file),
                private_key=read(s.tls.key_file),
                certificate_chain=read(s.tls.cert_file))
            self._channel = grpc.secure_channel(s.target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(s.target, options=options)
        self._call = self._channel.unary_unary(
            TRACE_EXPORT_METHOD,
            request_serializer=None,  # we pass serialized bytes
            response_deserializer=ExportTraceServiceResponse.FromString,
        )

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def prepare(self, batch: SpanBatch) -> bytes:
        return encode_request(batch).SerializeToString()

    def send(self, payload: bytes, timeout_s: float) -> tuple[int, str]:
        try:
            response = self._call(
                payload, timeout=timeout_s, metadata=self.metadata or None,
                compression=grpc.Compression.Gzip if self.settings.compression == "gzip" else None,
                wait_for_ready=self.settings.wait_for_ready or None)
        except grpc.RpcError as err:
            raise classify_grpc_error(err) from None
        except ValueError as err:  # e.g. the channel was closed under us
            raise SendError(f"gRPC channel unusable: {err}", retryable=False) from None
        partial = response.partial_success
        return partial.rejected_spans, partial.error_message


def classify_grpc_error(err: grpc.RpcError) -> SendError:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    info = _grpc_retry_info(err)
    retryable = code in _GRPC_RETRYABLE or (code == grpc.StatusCode.RESOURCE_EXHAUSTED
                                            and info is not None)
    throttle = 0.0
    if info is not None and info.HasField("retry_delay"):
        throttle = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    name = code.name if code is not None else "UNKNOWN"
    return SendError(f"rpc error: code = {name} desc = {details}", retryable, throttle)


def _grpc_retry_info(err: grpc.RpcError) -> error_details_pb2.RetryInfo | None:
    """The server's RetryInfo: from the status details, or the retryinfo-bin trailer."""
    trailers = err.trailing_metadata() or () if hasattr(err, "trailing_metadata") else ()
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            try:
                status = status_pb2.Status.FromString(value)
            except DecodeError:
                continue
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return info
    for key, value in trailers:
        if key == "google.rpc.retryinfo-bin":
            try:
                return error_details_pb2.RetryInfo.FromString(value)
            except DecodeError:
                return None
    return None
