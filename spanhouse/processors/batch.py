"""The collector's ``batch`` processor: gather spans into batches of ``send_batch_size``, or
whatever arrived within ``timeout``, and split anything above ``send_batch_max_size``.

The batch that completes a full batch is sent on by the receiving thread itself, so when
the next stage pushes back, that sender gets the retryable error. Spans left pending are
sent by a timer thread, retrying while downstream is overloaded. The pending buffer is bounded
(four full batches); beyond it, new batches are refused with ``Overloaded``.
"""

from __future__ import annotations

import threading
import time

from spanhouse.component import BuildContext, Consumer, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.model.batch import SpanBatch
from spanhouse.processors.delivery import deliver
from spanhouse.telemetry import Telemetry


class BatchProcessor:
    def __init__(self, name: str, send_batch_size: int, timeout_s: float, send_batch_max_size: int,
                 telemetry: Telemetry):
        self.name = name
        self.send_batch_size = send_batch_size
        self.timeout_s = timeout_s
        self.send_batch_max_size = send_batch_max_size
        self.max_pending = max(4 * send_batch_size, send_batch_max_size, 1)
        self._pending: list[SpanBatch] = []
        self._pending_spans = 0
        self._oldest = 0.0
        self._sending_low = 0   # write-ahead log seq_low of what the timer thread is sending
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._next: Consumer | None = None
        self._thread: threading.Thread | None = None
        self._dropped = telemetry.spans_dropped
        self._sent = telemetry.counter("spanhouse_batch_batches_sent",
                                       "Batches sent on by the batch processor, by trigger.",
                                       ["processor", "trigger"])

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry: Telemetry) -> "BatchProcessor":
        s = section.allow("send_batch_size", "timeout", "send_batch_max_size", "metadata_keys",
                          "metadata_cardinality_limit")
        size = s.integer("send_batch_size", 8192, minimum=0)
        timeout = s.duration("timeout", 0.2)
        max_size = s.integer("send_batch_max_size", 0, minimum=0)
        if max_size and max_size < size:
            raise ConfigError("must be 0 or at least send_batch_size", s.key_of("send_batch_max_size"))
        if s.strings("metadata_keys", []):
            raise ConfigError("batching by request metadata is not supported; remove metadata_keys",
                              s.key_of("metadata_keys"))
        s.integer("metadata_cardinality_limit", 1000, minimum=0)
        return cls(name, size, timeout, max_size, telemetry)

    def start(self, next_consumer: Consumer) -> None:
        self._next = next_consumer
        self._thread = threading.Thread(target=self._run, name=f"spanhouse-{self.name}", daemon=True)
        self._thread.start()

    def consume(self, batch: SpanBatch) -> None:
        with self._lock:
            if self._pending_spans + len(batch) > self.max_pending and self._pending_spans:
                raise Overloaded(f"{self.name}: {self._pending_spans} spans pending", self.timeout_s)
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(batch)
            self._pending_spans += len(batch)
            if self.send_batch_size == 0 or self._pending_spans < self.send_batch_size:
                self._wake.notify()
                return
            batches = self._take_all()
        try:
            for part in self._split(SpanBatch.concat(batches) if len(batches) > 1 else batches[0]):
                self._next(part)
        except Overloaded:
            # Keep the earlier, already acknowledged spans; refuse only this request's.
            with self._lock:
                earlier = [b for b in batches if b is not batch]
                self._pending[:0] = earlier
                self._pending_spans += sum(len(b) for b in earlier)
                if earlier:
                    self._oldest = time.monotonic()
            raise
        self._sent.labels(self.name, "batch_size").inc()

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span pending or being sent, or None."""
        with self._lock:
            lows = [b.seq_low for b in self._pending if b.seq_low]
            if self._sending_low:
                lows.append(self._sending_low)
            return min(lows) if lows else None

    def _take_all(self) -> list[SpanBatch]:
        batches, self._pending, self._pending_spans = self._pending, [], 0
        return batches

    def _split(self, batch: SpanBatch) -> list[SpanBatch]:
        limit = self.send_batch_max_size
        if not limit or len(batch) <= limit:
            return [batch]
        return [batch.take(range(i, min(i + limit, len(batch)))) for i in range(0, len(batch), limit)]

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closing and (
                        not self._pending or time.monotonic() - self._oldest < self.timeout_s):
                    wait = self.timeout_s - (time.monotonic() - self._oldest) if self._pending else None
                    self._wake.wait(wait)
                if self._closing:
                    return
                batches = self._take_all()
                self._sending_low = min((b.seq_low for b in batches if b.seq_low), default=0)
            self._flush(batches, None)
            with self._lock:
                self._sending_low = 0

    def _flush(self, batches: list[SpanBatch], deadline: float | None) -> None:
        if not batches:
            return
        merged = SpanBatch.concat(batches) if len(batches) > 1 else batches[0]
        for part in self._split(merged):
            if deliver(self._next, part, deadline):
                self._sent.labels(self.name, "timeout").inc()
            else:
                self._dropped.labels(self.name, "downstream_overloaded").inc(len(part))

    def shutdown(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            batches = self._take_all()
        self._flush(batches, deadline)
        return True


def _create(component_id: str, section: Section, context: BuildContext) -> BatchProcessor:
    return BatchProcessor.from_config(component_id, section, context.telemetry)


FACTORY = Factory("processor", "batch", _create)
