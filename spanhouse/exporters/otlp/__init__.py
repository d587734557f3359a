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
``RetryPolicy``); this package adds the transports and the OTLP error classification:

- ``config``: the collector's keys, parsed and checked into ``GrpcSettings`` / ``HttpSettings``;
- ``transport``: what an exporter asks of a transport (``prepare``, ``send``) and ``SendError``;
- ``grpc_transport``, ``http_transport``: one attempt over each wire protocol, classified;
- ``exporter``: ``ForwardingExporter`` joins a transport to the queue and the retries;
- ``factories``: ``OTLP_FACTORY``, ``OTLPHTTP_FACTORY`` for ``spanhouse.components``.

With ``sending_queue.enabled: false`` a batch is sent in the caller's thread; if it cannot be
delivered for a retryable reason ``export`` raises ``Overloaded`` (the sender retries), a
permanent failure is counted and dropped.
"""

from spanhouse.exporters.otlp.config import (
    GrpcSettings, HttpSettings, QueueSettings, RetrySettings, TlsSettings,
)
from spanhouse.exporters.otlp.exporter import (
    ForwardingExporter, OtlpGrpcExporter, OtlpHttpExporter,
)
from spanhouse.exporters.otlp.factories import OTLP_FACTORY, OTLPHTTP_FACTORY
from spanhouse.exporters.otlp.http_transport import parse_retry_after
from spanhouse.exporters.otlp.transport import SendError

__all__ = [
    "OTLP_FACTORY", "OTLPHTTP_FACTORY", "ForwardingExporter", "GrpcSettings", "HttpSettings",
    "OtlpGrpcExporter", "OtlpHttpExporter", "QueueSettings", "RetrySettings", "SendError",
    "TlsSettings", "parse_retry_after",
]
