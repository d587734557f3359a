"""The collector's forwarding exporters: ``otlp`` (OTLP/gRPC) and ``otlphttp`` (OTLP/HTTP).

Both take the collector's own settings (``endpoint``, ``tls``, ``headers``, ``compression``,
``timeout``, ``sending_queue``, ``retry_on_failure``; ``traces_endpoint`` for ``otlphttp``) and
behave like the collector's ``exporterhelper``:

- a bounded in-memory queue (``sending_queue.queue_size``, counted in batches as upstream's
  default ``requests`` sizer, or in spans with ``sizer: items``) drained by
  ``num_consumers`` sender threads. Overflow policy: refuse. When the queue is full ``export``
  raises ``Overloaded`` and keeps nothing, so the receiver answers with a retryable error and
  the sender retries: backpressure, never a silent drop;
- retries with exponential backoff per ``retry_on_failure`` (initial_interval, multiplier,
  randomization_factor, max_interval, max_elapsed_time; 0 means retry forever), stretched to the
  server's throttling hint (gRPC ``RetryInfo``, HTTP ``Retry-After``);
- which errors are retried follows the OTLP spec and the upstream exporters: gRPC CANCELLED,
  DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED only
  with a ``RetryInfo``; HTTP 429, 502, 503, 504; and connection failures. Everything else
  (INVALID_ARGUMENT, HTTP 400, ...) is permanent: not retried, the spans are counted in
  ``spanhouse_exporter_send_failed_spans`` and logged;
- ``shutdown(timeout)`` stops taking batches and sends what is queued within the timeout; what
  is still unsent at the deadline is counted as failed and logged, and stays held
  (``held_seq``) so the write-ahead log replays it at the next start.

The queue and the retries are the shared ``spanhouse.exporters.sending_queue`` (``SendingQueue``,
``RetryPolicy``); this module adds the transports and the OTLP error classification.

With ``sending_queue.enabled: false`` a batch is sent in the caller's thread; if it cannot be
delivered for a retryable reason ``export`` raises ``Overloaded`` (the sender retries), a
permanent failure is counted and dropped.
"""

from __future__ import annotations

import gzip
import logging
import random
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import grpc
import httpx
import orjson
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.exporters.sending_queue import RetryPolicy, SendingQueue, Stopped
from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_encode import encode_request

log = logging.getLogger(__name__)

try:  # the package version, for the User-Agent
    from importlib.metadata import version as _pkg_version

    _VERSION = _pkg_version("spanhouse")
except Exception:  # pragma: no cover - not installed as a distribution
    _VERSION = "dev"
USER_AGENT = f"spanhouse/{_VERSION}"

TRACE_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = "application/x-protobuf"

# Compression names the collector knows (configcompression) but Spanhouse does not send.
_UPSTREAM_ONLY_COMPRESSION = ("zlib", "deflate", "snappy", "zstd", "lz4", "x-snappy-framed")


# ---------------------------------------------------------------------------------- settings
# ``retry_on_failure`` (configretry.BackOffConfig): the shared retry policy.
RetrySettings = RetryPolicy


@dataclass(frozen=True)
class QueueSettings:
    """``sending_queue`` (exporterhelper queue config); defaults as upstream."""

    enabled: bool = True
    num_consumers: int = 10
    queue_size: int = 1000
    sizer: str = "requests"  # or "items" (spans)


@dataclass(frozen=True)
class TlsSettings:
    """The part of ``tls`` (configtls.ClientConfig) Spanhouse implements."""

    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name_override: str = ""


_QUEUE_FIELDS = ("enabled", "num_consumers", "queue_size", "sizer", "block_on_overflow",
                 "wait_for_result", "storage", "batch")
_RETRY_FIELDS = ("enabled", "initial_interval", "randomization_factor", "multiplier",
                 "max_interval", "max_elapsed_time")
_TLS_FIELDS = ("insecure", "insecure_skip_verify", "ca_file", "cert_file", "key_file",
               "server_name_override", "ca_pem", "cert_pem", "key_pem", "min_version",
               "max_version", "cipher_suites", "include_system_ca_certs_pool", "reload_interval",
               "curve_preferences")
_TLS_UNSUPPORTED = ("ca_pem", "cert_pem", "key_pem", "min_version", "max_version",
                    "cipher_suites", "include_system_ca_certs_pool", "reload_interval",
                    "curve_preferences")


def _duration(section: Section, name: str, default: float) -> float:
    """A Go duration; also accepts 0 (Go's ``0``), which parse_go_duration refuses."""
    value = section.raw(name)
    if value == 0 and not isinstance(value, bool) or value == "0":
        return 0.0
    return section.duration(name, default, minimum=0)


def _unsupported(section: Section, name: str, why: str) -> ConfigError:
    return ConfigError(f"is not supported by spanhouse: {why}", section.key_of(name))


def parse_retry(section: Section) -> RetrySettings:
    section.allow(*_RETRY_FIELDS)
    d = RetrySettings()
    s = RetrySettings(
        enabled=section.boolean("enabled", d.enabled),
        initial_interval=_duration(section, "initial_interval", d.initial_interval),
        randomization_factor=section.number("randomization_factor", d.randomization_factor,
                                            minimum=0, maximum=1),
        multiplier=section.number("multiplier", d.multiplier, minimum=0),
        max_interval=_duration(section, "max_interval", d.max_interval),
        max_elapsed_time=_duration(section, "max_elapsed_time", d.max_elapsed_time),
    )
    if s.enabled and s.max_elapsed_time > 0:  # as configretry's Validate
        if s.max_elapsed_time < s.initial_interval:
            raise section.error("max_elapsed_time", "must not be less than initial_interval "
                                f"({s.initial_interval:g}s); use 0 to retry forever")
        if s.max_elapsed_time < s.max_interval:
            raise section.error("max_elapsed_time", "must not be less than max_interval "
                                f"({s.max_interval:g}s); use 0 to retry forever")
    return s


def parse_queue(section: Section) -> QueueSettings:
    section.allow(*_QUEUE_FIELDS)
    d = QueueSettings()
    if section.boolean("block_on_overflow", False):
        raise _unsupported(section, "block_on_overflow",
                           "a full queue refuses the batch with a retryable error, so the "
                           "receiver pushes back on the sender; remove it")
    if section.boolean("wait_for_result", False):
        raise _unsupported(section, "wait_for_result",
                           "disable the queue (enabled: false) to send in the caller's thread")
    if section.has("storage"):
        raise _unsupported(section, "storage", "the sending queue is in memory only")
    if section.has("batch"):
        raise _unsupported(section, "batch", "use the batch processor in the pipeline")
    sizer = section.string("sizer", d.sizer, choices=("requests", "items", "bytes"))
    if sizer == "bytes":
        raise _unsupported(section, "sizer", 'the queue counts "requests" or "items"')
    return QueueSettings(
        enabled=section.boolean("enabled", d.enabled),
        num_consumers=section.integer("num_consumers", d.num_consumers, minimum=1),
        queue_size=section.integer("queue_size", d.queue_size, minimum=1),
        sizer=sizer,
    )


def parse_tls(section: Section, grpc_client: bool) -> TlsSettings:
    section.allow(*_TLS_FIELDS)
    for name in _TLS_UNSUPPORTED:
        if section.has(name):
            raise _unsupported(section, name, "use ca_file, cert_file and key_file")
    tls = TlsSettings(
        insecure=section.boolean("insecure", False),
        insecure_skip_verify=section.boolean("insecure_skip_verify", False),
        ca_file=section.string("ca_file", ""),
        cert_file=section.string("cert_file", ""),
        key_file=section.string("key_file", ""),
        server_name_override=section.string("server_name_override", ""),
    )
    if bool(tls.cert_file) != bool(tls.key_file):
        raise section.error("cert_file" if not tls.cert_file else "key_file",
                            "cert_file and key_file must be set together")
    if grpc_client and tls.insecure_skip_verify:
        raise _unsupported(section, "insecure_skip_verify",
                           "the gRPC client always verifies; set ca_file, or insecure: true")
    if not grpc_client and tls.server_name_override:
        raise _unsupported(section, "server_name_override", "only the otlp (gRPC) exporter has it")
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(tls, name)
        if path:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise section.error(name, f"cannot read {path!r}: {exc.strerror}") from None
    return tls


def parse_headers(section: Section, name: str = "headers") -> dict[str, str]:
    value = section.raw(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise section.error(name, "expected a mapping of header names to values")
    headers = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError("expected a string value", f"{section.key_of(name)}.{key}")
        headers[str(key)] = str(item)
    return headers


def parse_compression(section: Section) -> str:
    """``gzip`` (the collector's default) or ``none``."""
    value = section.raw("compression", "gzip")
    if value is None or value == "":
        return "none"
    if isinstance(value, str) and value in _UPSTREAM_ONLY_COMPRESSION:
        raise _unsupported(section, "compression", f"{value!r}; use gzip or none")
    return section.string("compression", "gzip", choices=("gzip", "none"))


# ---------------------------------------------------------------------------------- errors
class SendError(Exception):
    """One failed attempt. ``retryable`` per the OTLP spec; ``throttle_s`` the server's hint."""

    def __init__(self, message: str, retryable: bool, throttle_s: float = 0.0):
        super().__init__(message)
        self.retryable = retryable
        self.throttle_s = throttle_s


# ---------------------------------------------------------------------------------- base
class ForwardingExporter:
    """A ``SendingQueue`` of ``num_consumers`` senders and ``RetryPolicy`` retries around
    ``_send_once`` (one attempt)."""

    type_name = ""

    def __init__(self, name: str, telemetry, queue: QueueSettings, retry: RetrySettings,
                 timeout_s: float, retry_after_s: float = 1.0):
        self.name = name
        self.queue_settings = queue
        self.retry = retry
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._started = False
        self._rng = random.Random()
        labels = ["exporter"]
        self._m_sent = telemetry.counter(
            "spanhouse_exporter_sent_spans",
            "Spans a forwarding exporter delivered (accepted by the backend).", labels).labels(name)
        self._m_failed = telemetry.counter(
            "spanhouse_exporter_send_failed_spans",
            "Spans a forwarding exporter dropped: permanent error, retries exhausted, not sent "
            "by the shutdown deadline, or rejected by the backend (partial success).",
            labels).labels(name)
        self._m_enqueue_failed = telemetry.counter(
            "spanhouse_exporter_enqueue_failed_spans",
            "Spans refused because the sending queue was full (the sender was told to retry).",
            labels).labels(name)
        self._m_retries = telemetry.counter(
            "spanhouse_exporter_send_retries",
            "Failed send attempts that were retried.", labels).labels(name)
        m_queue_size = telemetry.gauge(
            "spanhouse_exporter_queue_size",
            "Current size of the sending queue (batches or spans, per its sizer).",
            labels).labels(name)
        m_queue_capacity = telemetry.gauge(
            "spanhouse_exporter_queue_capacity", "Capacity of the sending queue.",
            labels).labels(name)
        # With the queue disabled it is never started: it only carries the shutdown deadline.
        self._queue = SendingQueue(
            self._send_batch, capacity=queue.queue_size, sizer=queue.sizer,
            num_consumers=queue.num_consumers, what=f"sending queue of exporter {name}",
            closed_message=f"exporter {name} is shutting down", retry_after_s=retry_after_s,
            size_gauge=m_queue_size, thread_name=f"spanhouse-{name}")
        m_queue_capacity.set(queue.queue_size if queue.enabled else 0)

    # ------------------------------------------------------------------ transport (subclass)
    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _prepare(self, batch: SpanBatch) -> Any:
        """The payload to send, made once per batch (not once per attempt)."""
        raise NotImplementedError

    def _send_once(self, payload: Any, timeout_s: float) -> tuple[int, str]:
        """One attempt. Returns (rejected spans, error message) from a partial success, or
        raises ``SendError``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._started:
            return
        self._open()
        self._started = True
        if self.queue_settings.enabled:
            self._queue.start()

    def export(self, batch: SpanBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        if not self.queue_settings.enabled:
            self._export_now(batch)
            return
        try:
            self._queue.offer(batch)
        except Overloaded:
            self._m_enqueue_failed.inc(n)
            raise

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued has been sent (or given up on)."""
        return self._queue.flush(timeout)

    def shutdown(self, timeout: float) -> bool:
        """Stop taking batches, send what is queued within ``timeout``, close the client.
        What is not sent by then is counted as failed and stays held (``held_seq``)."""
        left = self._queue.shutdown(timeout)
        if left:
            unsent = sum(len(b) for b in left)
            self._m_failed.inc(unsent)
            log.error("exporter %s: %d spans not sent within the %.1fs shutdown timeout",
                      self.name, unsent, timeout)
        if self._started:
            try:
                self._close()
            except Exception as exc:  # closing must not break the shutdown of the others
                log.warning("exporter %s: error closing the client: %s", self.name, exc)
        return not left

    @property
    def queued(self) -> int:
        """Current queue size (queued + being sent), in the sizer's unit."""
        return self._queue.used

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span queued, being sent, or given up on at
        the shutdown deadline (so the log keeps it for the next start), or None."""
        return self._queue.held_seq()

    # ------------------------------------------------------------------ sending
    def _send_batch(self, batch: SpanBatch) -> None:
        """One batch from the queue; raises ``Stopped`` when the shutdown deadline cut it."""
        try:
            self._deliver(batch)
        except Stopped:
            raise
        except Exception:  # a sender thread must not die
            log.exception("exporter %s: unexpected error sending %d spans",
                          self.name, len(batch))
            self._m_failed.inc(len(batch))

    def _export_now(self, batch: SpanBatch) -> None:
        """Queue disabled: send in the caller's thread."""
        n = len(batch)
        try:
            payload = self._prepare(batch)
            rejected, message = self._send_with_retry(payload, n)
        except Stopped:
            raise Overloaded(f"exporter {self.name} is shutting down", self.retry_after_s) from None
        except SendError as exc:
            if exc.retryable:
                raise Overloaded(f"exporter {self.name} cannot deliver: {exc}",
                                 max(self.retry_after_s, exc.throttle_s)) from None
            self._fail(n, exc)
            return
        self._done(n, rejected, message)

    def _deliver(self, batch: SpanBatch) -> None:
        n = len(batch)
        try:
            payload = self._prepare(batch)
            rejected, message = self._send_with_retry(payload, n)
        except SendError as exc:
            if self._queue.stop_event.is_set():  # e.g. the client closed at the deadline
                raise Stopped(str(exc)) from exc
            self._fail(n, exc)
            return
        self._done(n, rejected, message)

    def _done(self, n: int, rejected: int, message: str) -> None:
        rejected = max(0, min(rejected, n))
        self._m_sent.inc(n - rejected)
        if rejected or message:
            self._m_failed.inc(rejected)
            log.warning("exporter %s: partial success: the backend rejected %d of %d spans: %s",
                        self.name, rejected, n, message)

    def _fail(self, n: int, exc: SendError) -> None:
        self._m_failed.inc(n)
        why = "not retryable" if not exc.retryable else "giving up"
        log.error("exporter %s: dropping %d spans (%s): %s", self.name, n, why, exc)

    def _attempt_timeout(self) -> float:
        deadline = self._queue.deadline
        if deadline is None:
            return self.timeout_s
        return max(0.001, min(self.timeout_s, deadline - time.monotonic()))

    def _send_with_retry(self, payload: Any, n: int) -> tuple[int, str]:
        def on_retry(attempt: int, wait_s: float, exc: BaseException) -> None:
            self._m_retries.inc()
            log.warning("exporter %s: sending %d spans failed (attempt %d), retrying in %.1fs: %s",
                        self.name, n, attempt, wait_s, exc)

        return self.retry.run(
            lambda: self._send_once(payload, self._attempt_timeout()),
            lambda e: isinstance(e, SendError) and e.retryable,
            self._queue.stop_event,
            throttle_of=lambda e: e.throttle_s if isinstance(e, SendError) else 0.0,
            on_retry=on_retry, rng=self._rng)


# ---------------------------------------------------------------------------------- gRPC
_GRPC_RETRYABLE = frozenset({
    grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS,
})


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


def _grpc_target(section: Section) -> tuple[str, bool]:
    """(target for grpcio, TLS forced by an https:// scheme)."""
    endpoint = section.string("endpoint")
    endpoint = endpoint.strip()
    https = endpoint.startswith("https://")
    for prefix in ("http://", "https://", "dns:///", "dns://"):
        if endpoint.startswith(prefix):
            endpoint = endpoint[len(prefix):]
            break
    if not endpoint:
        raise section.error("endpoint", 'requires a non-empty "endpoint", e.g. backend:4317')
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host:
        raise section.error("endpoint", f"{endpoint!r} has no port; write host:port, e.g. "
                                        "backend:4317")
    if not port.isdigit():
        raise section.error("endpoint", f'invalid port "{port}"')
    return endpoint, https


class OtlpGrpcExporter(ForwardingExporter):
    """The collector's ``otlp`` exporter: OTLP over gRPC (unary ``TraceService/Export``)."""

    type_name = "otlp"
    FIELDS = ("endpoint", "compression", "tls", "headers", "timeout", "sending_queue",
              "retry_on_failure", "wait_for_ready", "balancer_name", "authority", "keepalive",
              "read_buffer_size", "write_buffer_size", "auth")

    def __init__(self, name: str, telemetry, target: str, *, tls: TlsSettings | None = None,
                 use_tls: bool | None = None, headers: dict[str, str] | None = None,
                 compression: str = "gzip", timeout_s: float = 5.0,
                 queue: QueueSettings = QueueSettings(), retry: RetrySettings = RetrySettings(),
                 wait_for_ready: bool = False, options: list[tuple[str, Any]] | None = None):
        super().__init__(name, telemetry, queue, retry, timeout_s)
        self.target = target
        self.tls = tls or TlsSettings(insecure=True)
        self.use_tls = (not self.tls.insecure) if use_tls is None else use_tls
        # gRPC metadata keys are lowercase
        self.metadata = tuple((k.lower(), v) for k, v in (headers or {}).items())
        self.compression = compression
        self.wait_for_ready = wait_for_ready
        self.options = list(options or [])
        self._channel: grpc.Channel | None = None
        self._call = None

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry) -> "OtlpGrpcExporter":
        section.allow(*cls.FIELDS)
        if section.has("auth"):
            raise _unsupported(section, "auth", "authenticator extensions are not available; "
                               "put credentials in headers (e.g. authorization: Bearer ...)")
        target, https = _grpc_target(section)
        tls = parse_tls(section.section("tls"), grpc_client=True)
        options: list[tuple[str, Any]] = []
        if section.has("balancer_name"):
            options.append(("grpc.lb_policy_name", section.string(
                "balancer_name", choices=("pick_first", "round_robin"))))
        if section.has("authority"):
            options.append(("grpc.default_authority", section.string("authority")))
        if tls.server_name_override:
            options.append(("grpc.ssl_target_name_override", tls.server_name_override))
        keepalive = section.section("keepalive").allow("time", "timeout", "permit_without_stream")
        if section.raw("keepalive") is not None:
            if keepalive.has("time"):
                options.append(("grpc.keepalive_time_ms",
                                int(_duration(keepalive, "time", 0) * 1000)))
            if keepalive.has("timeout"):
                options.append(("grpc.keepalive_timeout_ms",
                                int(_duration(keepalive, "timeout", 0) * 1000)))
            options.append(("grpc.keepalive_permit_without_calls",
                             int(keepalive.boolean("permit_without_stream", False))))
        # read/write_buffer_size: Go transport tuning without a grpcio equivalent; accepted.
        section.integer("read_buffer_size", 0, minimum=0)
        section.integer("write_buffer_size", 0, minimum=0)
        return cls(
            name, telemetry, target,
            tls=tls, use_tls=https or not tls.insecure,
            headers=parse_headers(section),
            compression=parse_compression(section),
            timeout_s=_duration(section, "timeout", 5.0),
            queue=parse_queue(section.section("sending_queue")),
            retry=parse_retry(section.section("retry_on_failure")),
            wait_for_ready=section.boolean("wait_for_ready", False),
            options=options,
        )

    def _open(self) -> None:
        if self.use_tls:
            def read(path: str) -> bytes | None:
                if not path:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(
                root_certificates=read(self.tls.ca_file),
                private_key=read(self.tls.key_file),
                certificate_chain=read(self.tls.cert_file))
            self._channel = grpc.secure_channel(self.target, creds, options=self.options)
        else:
            self._channel = grpc.insecure_channel(self.target, options=self.options)
        self._call = self._channel.unary_unary(
            TRACE_EXPORT_METHOD,
            request_serializer=None,  # we pass serialized bytes
            response_deserializer=ExportTraceServiceResponse.FromString,
        )

    def _close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def _prepare(self, batch: SpanBatch) -> bytes:
        return encode_request(batch).SerializeToString()

    def _send_once(self, payload: bytes, timeout_s: float) -> tuple[int, str]:
        try:
            response = self._call(
                payload, timeout=timeout_s, metadata=self.metadata or None,
                compression=grpc.Compression.Gzip if self.compression == "gzip" else None,
                wait_for_ready=self.wait_for_ready or None)
        except grpc.RpcError as err:
            raise classify_grpc_error(err) from None
        except ValueError as err:  # e.g. the channel was closed under us
            raise SendError(f"gRPC channel unusable: {err}", retryable=False) from None
        partial = response.partial_success
        return partial.rejected_spans, partial.error_message


# ---------------------------------------------------------------------------------- HTTP
_HTTP_RETRYABLE = frozenset({429, 502, 503, 504})
_HTTP_THROTTLE = frozenset({429, 503})


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); 0 if absent/bad."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, when.timestamp() - time.time())


def _status_message(response: httpx.Response) -> str:
    body = response.content[:64 * 1024]
    if not body:
        return ""
    ctype = response.headers.get("content-type", "")
    try:
        if "json" in ctype:
            return str(orjson.loads(body).get("message", ""))
        return status_pb2.Status.FromString(body).message
    except Exception:
        return ""


def classify_http_response(url: str, response: httpx.Response) -> SendError:
    code = response.status_code
    message = _status_message(response)
    text = f"request to {url} responded with HTTP Status Code {code}"
    if message:
        text += f", Message={message}"
    if code not in _HTTP_RETRYABLE:
        return SendError(text, retryable=False)
    throttle = 0.0
    if code in _HTTP_THROTTLE:
        throttle = parse_retry_after(response.headers.get("retry-after"))
    return SendError(text, retryable=True, throttle_s=throttle)


def traces_url(section: Section) -> str:
    """``traces_endpoint``, or ``endpoint`` + ``/v1/traces`` (as upstream's composeSignalURL)."""
    override = section.string("traces_endpoint", "")
    if override:
        _check_url(section, "traces_endpoint", override)
        return override
    endpoint = section.string("endpoint", "")
    if not endpoint:
        raise section.error("endpoint", "either endpoint or traces_endpoint must be specified, "
                                        "e.g. endpoint: http://backend:4318")
    _check_url(section, "endpoint", endpoint)
    return endpoint + ("v1/traces" if endpoint.endswith("/") else "/v1/traces")


def _check_url(section: Section, name: str, url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except Exception:
        raise section.error(name, f"{url!r} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise section.error(name, f"{url!r} must be an http:// or https:// URL with a host, "
                                  "e.g. http://backend:4318")


class OtlpHttpExporter(ForwardingExporter):
    """The collector's ``otlphttp`` exporter: ``POST`` protobuf to ``…/v1/traces``."""

    type_name = "otlphttp"
    FIELDS = ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint",
              "profiles_endpoint", "encoding", "compression", "tls", "headers", "timeout",
              "sending_queue", "retry_on_failure", "proxy_url", "read_buffer_size",
              "write_buffer_size", "max_idle_conns", "max_idle_conns_per_host",
              "max_conns_per_host", "idle_conn_timeout", "disable_keep_alives", "auth")

    def __init__(self, name: str, telemetry, url: str, *, tls: TlsSettings | None = None,
                 headers: dict[str, str] | None = None, compression: str = "gzip",
                 timeout_s: float = 30.0, queue: QueueSettings = QueueSettings(),
                 retry: RetrySettings = RetrySettings(), proxy_url: str | None = None,
                 limits: httpx.Limits | None = None):
        super().__init__(name, telemetry, queue, retry, timeout_s)
        self.url = url
        self.tls = tls or TlsSettings()
        self.headers = dict(headers or {})
        self.compression = compression
        self.proxy_url = proxy_url
        self.limits = limits or httpx.Limits(max_connections=max(10, queue.num_consumers))
        self._client: httpx.Client | None = None

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry) -> "OtlpHttpExporter":
        section.allow(*cls.FIELDS)
        if section.has("auth"):
            raise _unsupported(section, "auth", "authenticator extensions are not available; "
                               "put credentials in headers (e.g. authorization: Bearer ...)")
        encoding = section.string("encoding", "proto", choices=("proto", "json"))
        if encoding == "json":
            raise _unsupported(section, "encoding", "spanhouse sends protobuf; use proto")
        url = traces_url(section)
        for other in ("metrics_endpoint", "logs_endpoint", "profiles_endpoint"):
            section.string(other, "")  # spanhouse forwards traces only; accepted, unused
        proxy_url = section.string("proxy_url", "") or None
        if proxy_url:
            _check_url(section, "proxy_url", proxy_url)
        section.integer("read_buffer_size", 0, minimum=0)
        section.integer("write_buffer_size", 0, minimum=0)
        queue = parse_queue(section.section("sending_queue"))
        max_idle = section.integer("max_idle_conns", 0, minimum=0) or None
        section.integer("max_idle_conns_per_host", 0, minimum=0)
        max_conns = section.integer("max_conns_per_host", 0, minimum=0) or None
        idle = _duration(section, "idle_conn_timeout", 90.0)
        if section.boolean("disable_keep_alives", False):
            max_idle, idle = 0, 0.0
        limits = httpx.Limits(max_connections=max_conns or max(10, queue.num_consumers),
                              max_keepalive_connections=max_idle,
                              keepalive_expiry=idle or None)
        return cls(
            name, telemetry, url,
            tls=parse_tls(section.section("tls"), grpc_client=False),
            headers=parse_headers(section),
            compression=parse_compression(section),
            timeout_s=_duration(section, "timeout", 30.0),
            queue=queue,
            retry=parse_retry(section.section("retry_on_failure")),
            proxy_url=proxy_url,
            limits=limits,
        )

    def _open(self) -> None:
        verify: bool | ssl.SSLContext = True
        if self.tls.insecure_skip_verify:
            verify = False
        elif self.tls.ca_file or self.tls.cert_file:
            context = ssl.create_default_context(cafile=self.tls.ca_file or None)
            if self.tls.cert_file:
                context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
            verify = context
        headers = {"User-Agent": USER_AGENT, **self.headers}
        self._client = httpx.Client(verify=verify, headers=headers, limits=self.limits,
                                    proxy=self.proxy_url, timeout=self.timeout_s)

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _prepare(self, batch: SpanBatch) -> bytes:
        body = encode_request(batch).SerializeToString()
        return gzip.compress(body, compresslevel=6) if self.compression == "gzip" else body

    def _send_once(self, payload: bytes, timeout_s: float) -> tuple[int, str]:
        headers = {"Content-Type": PROTOBUF}
        if self.compression == "gzip":
            headers["Content-Encoding"] = "gzip"
        try:
            response = self._client.post(self.url, content=payload, headers=headers,
                                         timeout=timeout_s)
        except httpx.TransportError as exc:  # connect errors, timeouts, protocol errors
            raise SendError(f"failed to make an HTTP request to {self.url}: "
                            f"{type(exc).__name__}: {exc}", retryable=True) from None
        except RuntimeError as exc:  # the client was closed under us
            raise SendError(f"HTTP client unusable: {exc}", retryable=False) from None
        if not 200 <= response.status_code <= 299:
            raise classify_http_response(self.url, response)
        return _partial_success(response)


def _partial_success(response: httpx.Response) -> tuple[int, str]:
    body = response.content
    if not body:
        return 0, ""
    ctype = response.headers.get("content-type", "")
    try:
        if ctype.startswith(PROTOBUF):
            partial = ExportTraceServiceResponse.FromString(body).partial_success
            return partial.rejected_spans, partial.error_message
        if "json" in ctype:
            partial = orjson.loads(body).get("partialSuccess") or {}
            return int(partial.get("rejectedSpans", 0) or 0), str(partial.get("errorMessage", ""))
    except Exception as exc:
        log.warning("cannot parse the export response (%s): %s", ctype, exc)
    return 0, ""


# ---------------------------------------------------------------------------------- factory
EXPORTERS = {"otlp": OtlpGrpcExporter, "otlphttp": OtlpHttpExporter}


def from_config(name: str, section: Section, telemetry) -> ForwardingExporter:
    """Build the exporter for component id ``name`` (``otlp``, ``otlp/backup``, ``otlphttp/x``)."""
    type_name = name.split("/", 1)[0]
    cls = EXPORTERS.get(type_name)
    if cls is None:
        raise ConfigError(f"not an OTLP exporter type: {type_name!r}", section.key)
    return cls.from_config(name, section, telemetry)
