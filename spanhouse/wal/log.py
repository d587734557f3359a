"""The write-ahead log: what makes "acknowledged" mean "stored".

A receiver appends each request's valid spans (``append``) and answers OK only when the returned
future resolves: the record is written and, with ``sync=True`` (the default), fsync-ed. One
writer thread does *group commit*: every record that arrived while the previous write+fsync ran
goes out in one ``writev`` and one ``fdatasync``, so the cost of a sync is shared by all the
requests waiting on it.

Bounded in bytes: the segments on disk plus the records waiting to be written never exceed
``max_bytes``; ``append`` refuses beyond that with ``Overloaded`` (the receivers' retryable
answer), and so does a write that fails (disk full): the file is cut back to its last whole
record and every request of that group is refused, none acknowledged.

Records leave the log by ``release(seq)``: once everything up to ``seq`` is stored (or sampled
away, or dead-lettered) a RELEASED marker is written and the segments holding only released
records are deleted. What is not released is replayed at the next start (``open``), see
``spanhouse.wal.feeder``.

Thread-safety: every public method may be called from any thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

from spanhouse.errors import Overloaded
from spanhouse.wal import records as rec

log = logging.getLogger(__name__)

MIB = 1024 * 1024
IOV_MAX = 512
MARKER_RESERVE = 1 * MIB  # room kept for SEAL/RELEASED markers when data is refused


class WalFull(Overloaded):
    """The log cannot take the record now (size limit or disk full); the sender may retry."""


@dataclass(slots=True)
class Committed:
    """A data record that is durable: what the feeder needs to find it again."""

    seq: int
    spans: int
    path: str
    offset: int
    length: int
    committed_at: float
    payload: bytes | None = None  # the record's bytes while kept in memory (else read back)


@dataclass(slots=True)
class _Segment:
    path: str
    first_seq: int
    size: int = 0
    last_data_seq: int = 0


@dataclass
class Replay:
    """What ``open`` found: the records to feed again, in order."""

    released: int = 0
    pending: list[Committed] = field(default_factory=list)
    seals: dict[int, int] = field(default_factory=dict)   # first seq -> last seq
    torn_bytes: int = 0


class WriteAheadLog:
    def __init__(self, directory: str, max_bytes: int = 1024 * MIB, segment_bytes: int = 64 * MIB,
                 sync: bool = True):
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = min(segment_bytes, max(256 * 1024, max_bytes // 8))
        self.sync = sync
        self.log_id = ""
        self.on_commit: Callable[[list[Committed]], None] = lambda entries: None
        self._lock = threading.Condition()
        self._queue: list[tuple[int, int, int, bytes, Future]] = []
        self._queued_bytes = 0
        self._segments: list[_Segment] = []
        self._fd = -1
        self._next_seq = 1
        self._released = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._commit_times: deque[tuple[int, float]] = deque()
        self.last_error = ""
        self.last_error_at = 0.0
        self.write_failures = 0

    # ------------------------------------------------------------------ start-up
    def open(self) -> Replay:
        """Read the segments left by an earlier run (cutting a torn tail), and get ready to
        append after them. Returns what must be fed again."""
        os.makedirs(self.directory, exist_ok=True)
        self.log_id = self._read_log_id()
        replay = Replay()
        for path in rec.list_segments(self.directory):
            good = rec.valid_length(path)
            size = os.path.getsize(path)
            if good < size:
                replay.torn_bytes += size - good
                with open(path, "r+b") as f:
                    f.truncate(good)
                    os.fsync(f.fileno())
            first = int(os.path.basename(path)[: -len(rec.SUFFIX)])
            segment = _Segment(path, first, good)
            with open(path, "rb") as stream:
                for r in rec.read_records(stream):
                    self._next_seq = max(self._next_seq, r.seq + 1)
                    if r.kind == rec.DATA:
                        segment.last_data_seq = r.seq
                        replay.pending.append(Committed(r.seq, r.spans, path, r.offset, r.length,
                                                        time.time()))
                    elif r.kind == rec.SEAL:
                        lo, hi = rec.SEAL_PAYLOAD.unpack(r.payload)
                        replay.seals[lo] = hi
                    else:
                        replay.released = max(replay.released,
                                              rec.RELEASED_PAYLOAD.unpack(r.payload)[0])
            self._segments.append(segment)
        replay.pending = [c for c in replay.pending if c.seq > replay.released]
        replay.seals = {lo: hi for lo, hi in replay.seals.items() if hi > replay.released}
        self._released = replay.released
        self._commit_times.extend((c.seq, c.committed_at) for c in replay.pending)
        # Append to the newest segment (its torn tail is cut) or start the first one.
        self._open_segment(self._segments[-1].first_seq if self._segments else self._next_seq)
        return replay

    def _read_log_id(self) -> str:
        path = os.path.join(self.directory, "log-id")
        try:
            with open(path) as f:
                return f.read().strip()
        except FileNotFoundError:
            log_id = uuid.uuid4().hex[:16]
            with open(path + ".tmp", "w") as f:
                f.write(log_id)
                f.flush()
                os.fsync(f.fileno())
            os.replace(path + ".tmp", path)
            return log_id

    def _open_segment(self, first_seq: int) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        path = os.path.join(self.directory, rec.segment_name(first_seq))
        if self._segments and self._segments[-1].path == path:
            segment = self._segments[-1]
        else:
            segment = _Segment(path, first_seq)
            self._segments.append(segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        segment.size = os.fstat(self._fd).st_size
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's name is durable too
        finally:
            os.close(dir_fd)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spanhouse-wal", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ appending
    def append(self, payload: bytes, spans: int) -> Future:
        """Queue a data record; the future resolves to its seq once it is durable, or fails
        with ``WalFull``. Raises ``WalFull`` at once when the log has no room."""
        size = rec.HEADER_SIZE + len(payload)
        with self._lock:
            if self._closing:
                raise WalFull("the server is shutting down", 1.0)
            used = self.bytes_used_locked()
            if used + size > self.max_bytes - min(MARKER_RESERVE, self.max_bytes // 16):
                raise WalFull(f"write-ahead log full ({used} of {self.max_bytes} bytes); "
                              "the store is behind", 1.0)
            return self._enqueue_locked(rec.DATA, spans, payload)

    def seal(self, first: int, last: int) -> Future:
        """Durably mark data records first..last as one insert chunk."""
        with self._lock:
            return self._enqueue_locked(rec.SEAL, 0, rec.SEAL_PAYLOAD.pack(first, last), seq=last)

    def release(self, seq: int) -> None:
        """Every data record up to ``seq`` is handled: mark it, delete whole segments."""
        with self._lock:
            if seq <= self._released:
                return
            self._released = seq
            while self._commit_times and self._commit_times[0][0] <= seq:
                self._commit_times.popleft()
            self._enqueue_locked(rec.RELEASED, 0, rec.RELEASED_PAYLOAD.pack(seq), seq=seq)
            doomed = [s for s in self._segments[:-1] if s.last_data_seq <= seq]
            self._segments = [s for s in self._segments if s not in doomed]
        for segment in doomed:
            try:
                os.unlink(segment.path)
            except FileNotFoundError:
                pass

    def _enqueue_locked(self, kind: int, spans: int, payload: bytes, seq: int | None = None
                        ) -> Future:
        future: Future = Future()
        if kind == rec.DATA:
            seq = self._next_seq
            self._next_seq += 1
        self._queue.append((kind, seq, spans, payload, future))
        self._queued_bytes += rec.HEADER_SIZE + len(payload)
        self._lock.notify()
        return future

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._queue or self._closing)
                if not self._queue:
                    return
                group, self._queue = self._queue, []
                group_bytes, self._queued_bytes = self._queued_bytes, 0
            self._write_group(group, group_bytes)

    def _write_group(self, group, group_bytes: int) -> None:
        segment = self._segments[-1]
        if segment.size >= self.segment_bytes and any(g[0] == rec.DATA for g in group):
            with self._lock:
                self._open_segment(next(g[1] for g in group if g[0] == rec.DATA))
            segment = self._segments[-1]
        start = segment.size
        buffers: list[bytes] = []
        committed: list[Committed] = []
        offset = start
        now = time.time()
        for kind, seq, spans, payload, _ in group:
            buffers.append(rec.encode(kind, seq, spans, payload))
            buffers.append(payload)
            offset += rec.HEADER_SIZE
            if kind == rec.DATA:
                committed.append(Committed(seq, spans, segment.path, offset, len(payload), now,
                                           payload))
            offset += len(payload)
        try:
            for i in range(0, len(buffers), IOV_MAX):
                _writev_all(self._fd, buffers[i:i + IOV_MAX])
            if self.sync:
                os.fdatasync(self._fd)
        except OSError as exc:
            self._fail_group(group, segment, start, exc)
            return
        segment.size = offset
        if committed:
            segment.last_data_seq = committed[-1].seq
            with self._lock:
                self._commit_times.extend((c.seq, now) for c in committed)
            self.on_commit(committed)
        for _, seq, _, _, future in group:
            future.set_result(seq)

    def _fail_group(self, group, segment: _Segment, start: int, exc: OSError) -> None:
        self.write_failures += 1
        self.last_error = f"write-ahead log write failed: {exc.strerror or exc}"
        self.last_error_at = time.monotonic()
        log.warning("%s; %d records refused", self.last_error, len(group))
        try:
            os.ftruncate(self._fd, start)
        except OSError:
            log.exception("cannot cut the write-ahead log back after a failed write")
        error = WalFull(f"{self.last_error}; retry later", 2.0)
        for kind, seq, spans, payload, future in group:
            if kind == rec.DATA:
                future.set_exception(error)
            else:  # a marker: keep it for the next group (it is small; it must not be lost)
                with self._lock:
                    self._queue.append((kind, seq, spans, payload, future))
                    self._queued_bytes += rec.HEADER_SIZE + len(payload)

    # ------------------------------------------------------------------ state
    def bytes_used_locked(self) -> int:
        return sum(s.size for s in self._segments) + self._queued_bytes

    @property
    def bytes_used(self) -> int:
        with self._lock:
            return self.bytes_used_locked()

    @property
    def last_seq(self) -> int:
        """The newest data record's seq (0: none yet)."""
        return self._next_seq - 1

    @property
    def released(self) -> int:
        return self._released

    def oldest_unreleased_age(self) -> float:
        with self._lock:
            return time.time() - self._commit_times[0][1] if self._commit_times else 0.0

    def close(self) -> None:
        """Write what is queued (markers included), then stop the writer thread."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = -1


def _writev_all(fd: int, buffers: list[bytes]) -> None:
    """``writev`` until every byte is out (a short write continues where it stopped)."""
    views = [memoryview(b) for b in buffers if len(b)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]
