"""The ``clickhouse`` exporter: the store's write path.

A bounded queue (counted in spans) in front of one writer thread. Batches that carry a
deduplication token (a chunk the write-ahead log cut, see ``spanhouse.wal.feeder``) are
inserted exactly as they came, so a replay after a crash repeats the same INSERT and ClickHouse
drops it; other batches (regrouped by a processor) are coalesced into larger inserts.

Failures (``spanhouse.store.failures``):

- a *transient* one (store unreachable, disk full, too many parts) is retried with
  exponential backoff, for as long as it lasts: the write-ahead log absorbs what arrives
  meanwhile and, once full, refuses senders with a retryable error. When the store has no room
  for the INSERT, it is split in halves for the next attempt;
- a *data* failure is isolated by bisection (``spanhouse.store.isolate``): the good spans are
  stored, each bad one goes to the dead-letter file under ``--data`` (counted in
  ``spanhouse_spans_dead_lettered_total``). One bad span never blocks anyone else's.

Overflow policy: refuse. ``export`` raises ``Overloaded`` and keeps nothing when the queue is
full; the feeder retries. ``held_seq`` tells the log what is not stored yet; on shutdown the
writer stops at the deadline and whatever it has not stored stays in the log for the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable, Protocol

from spanhouse.errors import Overloaded, StoreError
from spanhouse.model.batch import SpanBatch
from spanhouse.store.failures import TransientStoreError
from spanhouse.store.isolate import write_isolating
from spanhouse.telemetry import Telemetry

log = logging.getLogger(__name__)

TRUST_REFUSALS_AFTER = 5


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
        dead_letter=None,
        backoff_max_s: float = 5.0,
    ):
        self._open_writer = open_writer
        self._telemetry = telemetry
        self._dead_letter = dead_letter
        self.max_queue_spans = max_queue_spans
        self.max_insert_spans = max_insert_spans
        self.flush_interval_s = flush_interval_s
        self.retry_after_s = retry_after_s
        self.backoff_max_s = backoff_max_s
        self._queue: deque[SpanBatch] = deque()
        self._queued_spans = 0  # queued + being inserted: both hold capacity
        self._writing_low = 0   # seq_low of the insert in progress
        self._cond = threading.Condition()
        self._closing = False
        self._give_up = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.last_commit = time.monotonic()
        self.last_error = ""
        self.failing_since = 0.0
        telemetry.queue_capacity.labels(self.name).set(max_queue_spans)
        self._dead_counter = telemetry.counter(
            "spanhouse_spans_dead_lettered",
            "Spans the store refused for their content, isolated and written to the dead-letter "
            "file under --data instead.", ["exporter"])

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

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span queued or being inserted, or None."""
        with self._cond:
            lows = [b.seq_low for b in self._queue if b.seq_low]
            if self._writing_low:
                lows.append(self._writing_low)
            return min(lows) if lows else None

    def flush(self, timeout: float) -> bool:
        with self._cond:
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._queued_spans == 0, timeout)

    def shutdown(self, timeout: float) -> bool:
        """Insert what is queued until ``timeout``; then stop retrying. True when everything
        was stored (what was not stays in the write-ahead log)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._give_up.set()
                self._thread.join(10)
        if self._queued_spans:
            log.warning("store writer stopped with %d spans not stored (kept in the "
                        "write-ahead log for the next start)", self._queued_spans)
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
                if not self._store(writer, merged):
                    return  # gave up at the shutdown deadline; the log keeps the rest
                with self._cond:
                    self._queued_spans -= n
                    self._writing_low = 0
                    self._telemetry.queue_spans.labels(self.name).set(self._queued_spans)
                    self._cond.notify_all()
        finally:
            writer.close()

    def _take(self) -> tuple[list[SpanBatch], int] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing)
            if not self._queue:
                return None  # closing and drained
            if not self._queue[0].insert_token:
                # Give small batches a moment to gather into one larger insert, but never
                # while the queue is half full: then senders are waiting on us.
                enough = min(self.max_insert_spans, self.max_queue_spans // 2)
                if not self._closing and self._queued_spans < enough:
                    self._cond.wait_for(
                        lambda: self._closing or self._queued_spans >= enough,
                        self.flush_interval_s)
            batches, n = [], 0
            while self._queue:
                head = self._queue[0]
                if batches and (head.insert_token or batches[0].insert_token
                                or n + len(head) > self.max_insert_spans):
                    break
                batches.append(self._queue.popleft())
                n += len(head)
            self._writing_low = min((b.seq_low for b in batches if b.seq_low), default=0)
            return batches, n

    def _store(self, writer: BatchWriter, batch: SpanBatch) -> bool:
        """Store ``batch`` (its bad spans dead-lettered), retrying transient failures until
        it is done or the shutdown deadline passed (then False)."""
        parts = [batch]
        delay = 0.1
        refusals = 0
        while parts:
            part = parts[0]
            try:
                # Rows refused one by one while nothing else got in look like a store fault,
                # so they are retried; refused again and again, they are the rows' fault.
                outcome = write_isolating(writer.write, part, self._to_dead_letter,
                                          trust_refusals=refusals >= TRUST_REFUSALS_AFTER)
            except TransientStoreError as exc:
                refusals = refusals + 1 if exc.refused else 0
                self._failed(exc, len(part))
                if exc.written:
                    self._stored(exc.written)
                rest = [exc.unwritten(part)]
                if exc.no_space:  # the store cannot reserve room for this INSERT: smaller ones
                    rest = [half for p in rest for half in _halves(p)]
                parts[0:1] = rest
                if self._give_up.wait(delay):
                    return False
                delay = min(self.backoff_max_s, delay * 2)
                continue
            parts.pop(0)
            delay, refusals = 0.1, 0
            self._stored(outcome.written)
        return True

    def _stored(self, n: int) -> None:
        self.last_commit = time.monotonic()
        self.failing_since = 0.0
        self.last_error = ""
        self._telemetry.spans_stored.labels(self.name).inc(n)

    def _failed(self, exc: Exception, n: int) -> None:
        self._telemetry.store_errors.labels(self.name).inc()
        if not self.failing_since:
            self.failing_since = time.monotonic()
        self.last_error = str(exc)[:500]
        log.warning("insert of %d spans failed, retrying: %s", n, self.last_error)

    def _to_dead_letter(self, batch: SpanBatch, error: str) -> None:
        self._dead_counter.labels(self.name).inc(len(batch))
        log.error("store refused %d span(s) for their content; dead-lettered: %s",
                  len(batch), error[:300])
        if self._dead_letter is not None:
            self._dead_letter.append(batch, error)


def _halves(batch: SpanBatch) -> list[SpanBatch]:
    n = len(batch)
    if n < 2:
        return [batch]
    out = []
    for i, rows in enumerate((range(0, n // 2), range(n // 2, n))):
        part = batch.take(rows)
        part.insert_token = f"{batch.insert_token}/{i}" if batch.insert_token else ""
        out.append(part)
    return out
