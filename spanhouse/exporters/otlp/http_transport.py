"""OTLP/HTTP: one ``POST`` of a protobuf ``ExportTraceServiceRequest`` per attempt, and the
HTTP answers classified as the OTLP spec and the collector's ``otlphttp`` exporter do.

Retryable: 429, 502, 503, 504 (429 and 503 honour ``Retry-After`` as the throttling hint) and
connection failures. Any other non-2xx status is permanent. A 2xx body may carry a partial
success (protobuf or JSON), whose rejected spans the exporter counts as failed.
"""

from __future__ import annotations

import gzip
import logging
import ssl
import time
from email.utils import parsedate_to_datetime

import httpx
import orjson
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanhouse.exporters.otlp.config import HttpSettings
from spanhouse.exporters.otlp.transport import SendError
from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_encode import encode_request

log = logging.getLogger(__name__)

try:  # the package version, for the User-Agent
    from importlib.metadata import version as _pkg_version

    _VERSION = _pkg_version("spanhouse")
except Exception:  # pragma: no cover - not installed as a distribution
    _VERSION = "dev"
USER_AGENT = f"spanhouse/{_VERSION}"

PROTOBUF = "application/x-protobuf"

_HTTP_RETRYABLE = frozenset({429, 502, 503, 504})
_HTTP_THROTTLE = frozenset({429, 503})


class HttpTransport:
    """An httpx client posting to ``settings.url``."""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.limits = settings.limits or httpx.Limits(
            max_connections=max(10, settings.queue.num_consumers))
        self._client: httpx.Client | None = None

    def open(self) -> None:
        tls = self.settings.tls
        verify: bool | ssl.SSLContext = True
        if tls.insecure_skip_verify:
            verify = False
        elif tls.ca_file or tls.cert_file:
            context = ssl.create_default_context(cafile=tls.ca_file or None)
            if tls.cert_file:
                context.load_cert_chain(tls.cert_file, tls.key_file)
            verify = context
        headers = {"User-Agent": USER_AGENT, **self.settings.headers}
        self._client = httpx.Client(verify=verify, headers=headers, limits=self.limits,
                                    proxy=self.settings.proxy_url, timeout=self.settings.timeout_s)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def prepare(self, batch: SpanBatch) -> bytes:
        body = encode_request(batch).SerializeToString()
        return gzip.compress(body, compresslevel=6) if self.settings.compression == "gzip" else body

    def send(self, payload: bytes, timeout_s: float) -> tuple[int, str]:
        url = self.settings.url
        headers = {"Content-Type": PROTOBUF}
        if self.settings.compression == "gzip":
            headers["Content-Encoding"] = "gzip"
        try:
            response = self._client.post(url, content=payload, headers=headers, timeout=timeout_s)
        except httpx.TransportError as exc:  # connect errors, timeouts, protocol errors
            raise SendError(f"failed to make an HTTP request to {url}: "
                            f"{type(exc).__name__}: {exc}", retryable=True) from None
        except RuntimeError as exc:  # the client was closed under us
            raise SendError(f"HTTP client unusable: {exc}", retryable=False) from None
        if not 200 <= response.status_code <= 299:
            raise classify_http_response(url, response)
        return _partial_success(response)


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
