"""The ``clickhouse`` exporter: the store's write path.

A bounded queue (counted in spans) in front of one writer thread that coalesces queued batches
into large inserts, as ClickHouse prefers. Overflow policy: refuse. When the queue cannot take a
batch, ``export`` raises ``Overloaded`` and keeps nothing, so the receiver answers with a
retryable error (gRPC RESOURCE_EXHAUSTED + RetryInfo, HTTP 429 + Retry-After) and the sender's
exporter retries: backpressure, never a silent drop.

A batch accepted here is acknowledged to the sender; ``shutdown`` drains the queue into the
store before returning, so a SIGTERM loses nothing that was acknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable, Protocol

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from spanhouse.errors import Overloaded, StoreError
from spanhouse.model.batch import SpanBatch
from spanhouse.telemetry import Telemetry

log = logging.getLogger(__name__)


class BatchWriter(Protocol):
    def write(self, batch: SpanBatch) -> int: ...
    def close(self) -> None: ...


class StoreExporter:
    name = "clickhouse"

    def __init__(
        self,
        open_writer: Callable[[], BatchWriter],
        telemetry: Telemetry,
        max_queue_spans: int = 200_000,
        max_insert_spans: int = 100_000,
        flush_interval_s: float = 0.2,
        retry_after_s: float = 1.0,
    ):
        self._open_writer = open_writer
        self._telemetry = telemetry
        self.max_queue_spans = max_queue_spans
        self.max_insert_spans = max_insert_spans
        self.flush_interval_s = flush_interval_s
        self.retry_after_s = retry_after_s
        self._queue: deque[SpanBatch] = deque()
        self._queued_spans = 0  # queued + being inserted: both hold capacity
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        telemetry.queue_capacity.labels(self.name).set(max_queue_spans)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spanhouse-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise StoreError(f"cannot open the store: {self._start_error}") from self._start_error

    def export(self, batch: SpanBatch) -> None:
        n = len(batch)
        if n == 0:
            return
        with self._cond:
            if self._closing:
                raise Overloaded("the server is shutting down", self.retry_after_s)
            # An oversized batch is still taken when the queue is empty, or it could never pass.
            if self._queued_spans and self._queued_spans + n > self.max_queue_spans:
                raise Overloaded(
                    f"write queue full ({self._queued_spans} of {self.max_queue_spans} spans)",
                    self.retry_after_s)
            self._queue.append(batch)
            self._queued_spans += n
            self._telemetry.queue_spans.labels(self.name).set(self._queued_spans)
            self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        with self._cond:
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._queued_spans == 0, timeout)

    def shutdown(self, timeout: float) -> bool:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("store writer did not drain in %.1fs; %d spans not written",
                          timeout, self._queued_spans)
                return False
        return True

    @property
    def queued_spans(self) -> int:
        return self._queued_spans

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        try:
            writer = self._open_writer()
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                taken = self._take()
                if taken is None:
                    return
                batches, n = taken
                merged = batches[0] if len(batches) == 1 else SpanBatch.concat(batches)
                self._write_with_retry(writer, merged)
                with self._cond:
                    self._queued_spans -= n
                    self._telemetry.queue_spans.labels(self.name).set(self._queued_spans)
                    self._cond.notify_all()
        finally:
            writer.close()

    def _take(self) -> tuple[list[SpanBatch], int] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing)
            if not self._queue:
                return None  # closing and drained
            # Give small batches a moment to gather into one larger insert, but never while the
            # queue is half full: then senders are waiting on us, and latency is what matters.
            enough = min(self.max_insert_spans, self.max_queue_spans // 2)
            if not self._closing and self._queued_spans < enough:
                self._cond.wait_for(
                    lambda: self._closing or self._queued_spans >= enough, self.flush_interval_s)
            batches, n = [], 0
            while self._queue and (not batches or n + len(self._queue[0]) <= self.max_insert_spans):
                batch = self._queue.popleft()
                batches.append(batch)
                n += len(batch)
            return batches, n

    def _write_with_retry(self, writer: BatchWriter, batch: SpanBatch) -> None:
        def on_error(state) -> None:
            self._telemetry.store_errors.labels(self.name).inc()
            log.warning("insert of %d spans failed (attempt %d), retrying: %s",
                        len(batch), state.attempt_number, state.outcome.exception())

        # Retry for a long time: while the store is down the queue fills and the receivers
        # push back on the senders, so nothing acknowledged is lost.
        for attempt in Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=0.1, max=5.0),
            stop=stop_after_delay(3600),
            before_sleep=on_error,
            reraise=True,
        ):
            with attempt:
                writer.write(batch)
        self._telemetry.spans_stored.labels(self.name).inc(len(batch))
