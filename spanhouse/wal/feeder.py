"""The feeder: from the write-ahead log into the pipeline, and the log's release.

One thread takes committed data records in log order (their bytes from memory while the
memory budget allows, else read back from disk), decodes them (the one decode of a protobuf
request: receivers only check it), cuts them into *chunks* and hands each chunk to the
pipeline, retrying while the pipeline pushes back.

Memory (``--queue-bytes``): a quarter for records' bytes waiting here, the rest for decoded
chunks handed on and not yet released (charged at ``charge_for``: decoded columns are several
times their protobuf). Waiting bytes never block a decode: each has its own budget. Start-up replay is the same
loop over the records an earlier run left unreleased.

Exactly-once into the store, for a pipeline with no processor (the default): a chunk is sealed
in the log (durably) before it is handed on, and it carries the deduplication token
``<log id>:<first seq>-<last seq>``. A crash after the INSERT but before the release is replayed
as the same chunk with the same token, and ClickHouse drops the repeated insert
(``insert_deduplication_token`` with the table's ``non_replicated_deduplication_window``).
With processors (tail sampling) the chunk is regrouped downstream and carries no token: the
store exporter looks replayed spans up instead and stores only those it has not got
(``StoreExporter.replayed_through``).

Release: every component of the pipeline reports the lowest log seq it still holds
(``held_seq``); read upstream first (the feeder, then processors, then exporters) so a batch
moving downstream is seen at least once. Everything below the lowest held seq is released.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from spanhouse.errors import Overloaded
from spanhouse.exporters.sending_queue import RetryPolicy, Stopped
from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_proto import decode_proto_bytes
from spanhouse.model.raw_chunk import RawChunk
from spanhouse.wal import records as rec
from spanhouse.wal.budget import MemoryBudget, charge_for
from spanhouse.wal.log import Committed, Replay, WriteAheadLog

log = logging.getLogger(__name__)

# The native INSERT costs ~110 ms of planning whatever its size (docs/performance.md): below
# this many spans the Python decode is cheaper.
NATIVE_MIN_SPANS = 10_000
NATIVE_CHUNK_SPANS = 50_000
# While the pipeline pushes back: 10 ms doubling to 1 s, for as long as it lasts.
PUSHBACK_RETRY = RetryPolicy(initial_interval=0.01, randomization_factor=0, multiplier=2,
                             max_interval=1.0, max_elapsed_time=0)


class Feeder:
    def __init__(self, wal: WriteAheadLog, pipeline, queue_bytes: int, telemetry,
                 chunk_spans: int = 20_000, linger_s: float = 0.1, exactly_once: bool = True,
                 native: bool = False):
        self.wal = wal
        self.pipeline = pipeline
        self.waiting_budget = MemoryBudget(queue_bytes // 4)
        self.budget = MemoryBudget(queue_bytes - queue_bytes // 4)
        self.chunk_spans = chunk_spans
        self.linger_s = linger_s
        self.exactly_once = exactly_once
        # Hand the store the requests' bytes (ClickHouse parses them), not decoded columns:
        # only when nothing but the store needs the spans.
        self.native = native
        if native:
            self.chunk_spans = max(chunk_spans, NATIVE_CHUNK_SPANS)
        self._telemetry = telemetry
        self._entries: deque[tuple[Committed, int]] = deque()   # (record, memory charge)
        self._seals: dict[int, int] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._drain_until = 0.0
        self._stop_now = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight_low = 0            # first seq of the chunk being handed on
        self._fed_through = 0             # last seq handed on
        self._charges: deque[tuple[int, int]] = deque()  # (last seq, charge) of chunks in flight
        self._chunks = telemetry.counter(
            "spanhouse_wal_chunks", "Chunks handed from the write-ahead log to the pipeline, by "
            "form: protobuf bytes for ClickHouse to parse (native) or decoded columns.", ["form"])

    # ------------------------------------------------------------------ intake
    def load(self, replay: Replay) -> None:
        """The records an earlier run left unreleased, before anything new."""
        with self._cond:
            self._entries.extend((c, 0) for c in replay.pending)
            self._seals.update(replay.seals)
            self._fed_through = replay.released
        if replay.pending:
            log.info("write-ahead log: replaying %d requests (%d spans) not yet stored",
                     len(replay.pending), sum(c.spans for c in replay.pending))

    def on_commit(self, committed: list[Committed]) -> None:
        """Called by the log's writer thread with newly durable records; their bytes stay in
        memory while the waiting budget allows."""
        with self._cond:
            for c in committed:
                charge = 0
                if c.payload is not None:
                    charge = c.length
                    if not self.waiting_budget.try_acquire(charge):
                        c.payload, charge = None, 0  # read back from disk later
                self._entries.append((c, charge))
            self._cond.notify_all()

    @property
    def memory_used(self) -> int:
        return self.waiting_budget.used + self.budget.used

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spanhouse-feeder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Feed what the log holds for up to ``timeout`` (a SIGTERM drains), then stop; what
        is left stays in the log for the next start."""
        with self._cond:
            self._closing = True
            self._drain_until = time.monotonic() + timeout
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._stop_now.set()
                self._thread.join(5)

    @property
    def backlog_spans(self) -> int:
        with self._cond:
            return sum(c.spans for c, _ in self._entries)

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        while True:
            chunk = self._next_chunk()
            if chunk is None:
                return
            try:
                self._feed(chunk)
            except Exception:  # a bug must not stop ingest for good; the records stay logged
                log.exception("feeding %d records into the pipeline failed", len(chunk))
                self._closing = True
                return
            self.update_release()

    def _next_chunk(self) -> list[tuple[Committed, int]] | None:
        with self._cond:
            while not self._entries:
                if self._closing:
                    return None
                self._cond.wait(0.5)
                self.update_release_locked_safe()
            if self._closing and time.monotonic() > self._drain_until:
                return None
            head = self._entries[0][0]
            sealed_last = self._seals.pop(head.seq, None)
            if sealed_last is None:
                # Let requests gather into one large INSERT, a short while at most.
                deadline = time.monotonic() + self.linger_s
                while (not self._closing and self._spans_waiting() < self.chunk_spans
                       and time.monotonic() < deadline):
                    self._cond.wait(max(0.0, deadline - time.monotonic()))
            chunk, spans = [], 0
            while self._entries:
                entry, charge = self._entries[0]
                if sealed_last is not None:
                    if entry.seq > sealed_last:
                        break
                elif chunk and spans + entry.spans > self.chunk_spans:
                    break
                self._entries.popleft()
                chunk.append((entry, charge))
                spans += entry.spans
            self._inflight_low = chunk[0][0].seq
            return chunk

    def _spans_waiting(self) -> int:
        total = 0
        for entry, _ in self._entries:
            total += entry.spans
            if total >= self.chunk_spans:
                break
        return total

    def _feed(self, chunk: list[tuple[Committed, int]]) -> None:
        batches, charge, taken = self._load(chunk)
        if not taken:
            return
        first, last = taken[0].seq, taken[-1].seq
        if self.exactly_once:
            self.wal.seal(first, last).result()
        token = f"{self.wal.log_id}:{first}-{last}" if self.exactly_once else ""
        spans = sum(e.spans for e in taken)
        if self.native and spans >= NATIVE_MIN_SPANS:
            merged = RawChunk.of(batches, spans, first, token)
        else:  # below NATIVE_MIN_SPANS, planning the native INSERT costs more than decoding
            if self.native:
                batches = [self._decoded(payload) for payload in batches]
            merged = SpanBatch.concat(batches) if len(batches) != 1 else batches[0]
            merged.seq_low, merged.insert_token = first, token
        self._chunks.labels("native" if isinstance(merged, RawChunk) else "columns").inc()
        if not self._deliver(merged):
            return  # shutting down: the chunk stays in the log (not released) for the next start
        with self._cond:
            self._fed_through = last
            self._inflight_low = 0
            if self.pipeline.processors:
                self.budget.release(charge)   # processors bound their own buffers
            else:
                self._charges.append((last, charge))

    def _load(self, chunk: list[tuple[Committed, int]]):
        """The chunk's records decoded. Never waits for memory while holding some: then the
        rest goes back for the next chunk."""
        batches, charge, taken = [], 0, []
        for i, (entry, waiting_charge) in enumerate(chunk):
            need = entry.length if self.native else charge_for(entry.length)
            got = self.budget.try_acquire(need)
            while not got and not taken and not self._stop_now.is_set():
                self.update_release()   # what the store committed frees memory
                got = self.budget.acquire(need, 0.2)
            if not got:
                self._push_back(chunk[i:])
                break
            batch = self._bytes(entry) if self.native else self._decode(entry)
            entry.payload = None
            self.waiting_budget.release(waiting_charge)
            charge += need
            taken.append(entry)
            if len(batch):
                batches.append(batch)
        return batches, charge, taken

    def _push_back(self, rest: list[tuple[Committed, int]]) -> None:
        with self._cond:
            self._entries.extendleft(reversed(rest))

    def _bytes(self, entry: Committed) -> bytes:
        if entry.payload is not None:
            return entry.payload
        return rec.read_payload(entry.path, entry.offset, entry.length)

    def _decode(self, entry: Committed) -> SpanBatch:
        return self._decoded(self._bytes(entry))

    def _decoded(self, payload: bytes) -> SpanBatch:
        result = decode_proto_bytes(payload)
        if result.rejected:  # logged by an older release with other limits
            self._telemetry.spans_dropped.labels("wal", "invalid_on_replay").inc(result.rejected)
        return result.batch

    def _deliver(self, batch: SpanBatch) -> bool:
        """Hand ``batch`` on, waiting while the pipeline pushes back; False only when told to
        stop first."""
        if not len(batch):
            return True
        try:
            PUSHBACK_RETRY.run(lambda: self.pipeline.consume(batch),
                               lambda exc: isinstance(exc, Overloaded), self._stop_now)
        except Stopped:
            return False
        return True

    # ------------------------------------------------------------------ release
    def update_release(self) -> None:
        with self._cond:
            self.update_release_locked_safe()

    def update_release_locked_safe(self) -> None:
        low = self._inflight_low or None
        held = self.pipeline.held_seq()
        if held is not None:
            low = held if low is None else min(low, held)
        released = self._fed_through if low is None else min(self._fed_through, low - 1)
        if released > self.wal.released:
            self.wal.release(released)
        while self._charges and self._charges[0][0] <= released:
            self.budget.release(self._charges.popleft()[1])
