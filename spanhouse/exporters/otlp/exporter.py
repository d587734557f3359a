"""The forwarding exporters: a transport joined to the shared ``SendingQueue`` and
``RetryPolicy`` (``spanhouse.exporters.sending_queue``), as the collector's exporterhelper.

``ForwardingExporter`` owns the queue, the retries, the metrics and the shutdown deadline;
``OtlpGrpcExporter`` and ``OtlpHttpExporter`` only choose the transport and its settings.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from spanhouse.config.section import Section
from spanhouse.errors import Overloaded
from spanhouse.exporters.otlp.config import (
    GrpcSettings, HttpSettings, QueueSettings, RetrySettings, parse_grpc_settings,
    parse_http_settings,
)
from spanhouse.exporters.otlp.grpc_transport import GrpcTransport
from spanhouse.exporters.otlp.http_transport import HttpTransport
from spanhouse.exporters.otlp.transport import SendError, Transport
from spanhouse.exporters.sending_queue import SendingQueue, Stopped
from spanhouse.model.batch import SpanBatch

log = logging.getLogger(__name__)


def forwarding_counters(telemetry, name: str) -> tuple:
    """(sent, send failed, enqueue failed, retries): the counters of a forwarding exporter
    named ``name``, as the collector's exporterhelper reports them."""
    labels = ["exporter"]
    sent = telemetry.counter(
        "spanhouse_exporter_sent_spans",
        "Spans a forwarding exporter delivered (accepted by the backend).", labels).labels(name)
    failed = telemetry.counter(
        "spanhouse_exporter_send_failed_spans",
        "Spans a forwarding exporter dropped: permanent error, retries exhausted, not sent "
        "by the shutdown deadline, or rejected by the backend (partial success).",
        labels).labels(name)
    enqueue_failed = telemetry.counter(
        "spanhouse_exporter_enqueue_failed_spans",
        "Spans refused because the sending queue was full (the sender was told to retry).",
        labels).labels(name)
    retries = telemetry.counter(
        "spanhouse_exporter_send_retries",
        "Failed send attempts that were retried.", labels).labels(name)
    return sent, failed, enqueue_failed, retries


class ForwardingExporter:
    """A ``SendingQueue`` of ``num_consumers`` senders and ``RetryPolicy`` retries around
    ``transport.send`` (one attempt)."""

    def __init__(self, name: str, telemetry, transport: Transport, queue: QueueSettings,
                 retry: RetrySettings, timeout_s: float, retry_after_s: float = 1.0):
        self.name = name
        self.transport = transport
        self.queue_settings = queue
        self.retry = retry
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._started = False
        self._rng = random.Random()
        self._m_sent, self._m_failed, self._m_enqueue_failed, self._m_retries = \
            forwarding_counters(telemetry, name)
        labels = ["exporter"]
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

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._started:
            return
        self.transport.open()
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
                self.transport.close()
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
            payload = self.transport.prepare(batch)
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
            payload = self.transport.prepare(batch)
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
            lambda: self.transport.send(payload, self._attempt_timeout()),
            lambda e: isinstance(e, SendError) and e.retryable,
            self._queue.stop_event,
            throttle_of=lambda e: e.throttle_s if isinstance(e, SendError) else 0.0,
            on_retry=on_retry, rng=self._rng)


class OtlpGrpcExporter(ForwardingExporter):
    """The collector's ``otlp`` exporter: OTLP over gRPC (unary ``TraceService/Export``)."""

    def __init__(self, name: str, telemetry, settings: GrpcSettings):
        super().__init__(name, telemetry, GrpcTransport(settings), settings.queue,
                         settings.retry, settings.timeout_s)
        self.settings = settings

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry) -> "OtlpGrpcExporter":
        return cls(name, telemetry, parse_grpc_settings(section))

    @property
    def target(self) -> str:
        return self.settings.target

    @property
    def use_tls(self) -> bool:
        return self.settings.use_tls

    @property
    def compression(self) -> str:
        return self.settings.compression


class OtlpHttpExporter(ForwardingExporter):
    """The collector's ``otlphttp`` exporter: ``POST`` protobuf to ``…/v1/traces``."""

    def __init__(self, name: str, telemetry, settings: HttpSettings):
        super().__init__(name, telemetry, HttpTransport(settings), settings.queue,
                         settings.retry, settings.timeout_s)
        self.settings = settings

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry) -> "OtlpHttpExporter":
        return cls(name, telemetry, parse_http_settings(section))

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def compression(self) -> str:
        return self.settings.compression
