"""The dead-letter file: spans the store refused alone, kept on disk so they can be re-sent.

``DeadLetterFile(directory).append(batch, error)`` writes one JSON line per span to
``DIRECTORY/dead-letter/spans-YYYYMMDD.jsonl`` (UTC date of the append)::

    {"time": "2024-05-01T12:00:00.123Z", "error": "...", "trace_id": "...", "span_id": "...",
     "service": "...", "name": "...", "otlp_json": {"resourceSpans": [...]}}

``otlp_json`` is the span alone as an OTLP/JSON ``ExportTraceServiceRequest`` (hex ids, integer
enums), so ``curl -H 'Content-Type: application/json' -d "$(jq -c .otlp_json <<< "$LINE")"
http://localhost:4318/v1/traces`` re-sends it. ``error`` is cut to 1 KiB. If the span cannot be
encoded, ``otlp_json`` is null and ``otlp_error`` says why.

Contracts:

- Durable on return: ``append`` returns once its lines are written, flushed and fsync-ed (and
  the folder fsync-ed when the day's file was created). A failed write (e.g. ENOSPC) is undone
  (the file is truncated back) and the ``OSError`` raised; nothing was counted.
- Bounded: the folder's ``spans-*.jsonl`` files (earlier runs and days included) never exceed
  ``max_bytes``. A span that does not fit is only counted (``dropped``) and logged once; files
  removed by an operator make room again.
- Thread-safe: one lock serializes writes; encoding happens outside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import threading
from pathlib import Path

import orjson
from google.protobuf.json_format import MessageToDict

from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_encode import encode_request

log = logging.getLogger(__name__)

MAX_ERROR_BYTES = 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(obj: dict) -> None:
    """proto3 JSON writes bytes as base64; OTLP/JSON wants ids in hex."""
    for rs in obj.get("resourceSpans", ()):
        for ss in rs.get("scopeSpans", ()):
            for span in ss.get("spans", ()):
                for owner in (span, *span.get("links", ())):
                    for key in _ID_FIELDS:
                        if key in owner:
                            owner[key] = base64.b64decode(owner[key]).hex()


def otlp_json(batch: SpanBatch) -> dict:
    """``batch`` as an OTLP/JSON request object."""
    obj = MessageToDict(encode_request(batch), use_integers_for_enums=True)
    _hex_ids(obj)
    return obj


def _cut(text: str, limit: int = MAX_ERROR_BYTES) -> str:
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore")


class DeadLetterFile:
    def __init__(self, directory: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES):
        self.directory = Path(directory) / "dead-letter"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes = self._disk_bytes()
        self._count = self._disk_lines()
        self._dropped = 0
        self._warned = False

    # ------------------------------------------------------------------ state
    @property
    def path(self) -> Path:
        """Today's file (UTC), where the next span goes."""
        return self.directory / f"spans-{dt.datetime.now(dt.timezone.utc):%Y%m%d}.jsonl"

    @property
    def count(self) -> int:
        """Spans in the dead-letter files: lines found at open plus those appended since."""
        return self._count

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def dropped(self) -> int:
        """Spans not written because the size bound was reached (this process)."""
        return self._dropped

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("spans-*.jsonl"))

    def _disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._files())

    def _disk_lines(self) -> int:
        lines = 0
        for p in self._files():
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    lines += chunk.count(b"\n")
        return lines

    # ------------------------------------------------------------------ writing
    def _line(self, batch: SpanBatch, i: int, error: str, now: str) -> bytes:
        record = {"time": now, "error": _cut(error), "trace_id": batch.trace_id[i],
                  "span_id": batch.span_id[i], "service": "", "name": batch.name[i],
                  "otlp_json": None}
        try:
            record["service"] = batch.service_of(i)
            record["otlp_json"] = otlp_json(batch if len(batch) == 1 else batch.take([i]))
            return orjson.dumps(record, default=str) + b"\n"
        except Exception as exc:  # a malformed span must still be recorded
            record["otlp_json"] = None
            record["otlp_error"] = _cut(f"{type(exc).__name__}: {exc}")
            return orjson.dumps(record, default=repr) + b"\n"

    def append(self, batch: SpanBatch, error: str) -> int:
        """Record every span of ``batch`` as refused with ``error``; returns how many were
        written (the others did not fit under ``max_bytes``). Durable on return."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        now = now.replace("+00:00", "Z")
        lines = [self._line(batch, i, error, now) for i in range(len(batch))]
        with self._lock:
            fit = self._fitting(lines)
            if fit < len(lines):
                self._dropped += len(lines) - fit
                if not self._warned:
                    self._warned = True
                    log.error("dead-letter folder %s is full (%d of %d bytes): further bad "
                              "spans are counted, not kept", self.directory, self._bytes,
                              self.max_bytes)
            if fit:
                self._write(b"".join(lines[:fit]))
                self._count += fit
            return fit

    def _fitting(self, lines: list[bytes]) -> int:
        for attempt in (0, 1):
            room, fit = self.max_bytes - self._bytes, 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                fit += 1
            if fit == len(lines) or attempt:
                return fit
            self._bytes = self._disk_bytes()  # files may have been removed: look again
        return fit

    def _write(self, data: bytes) -> None:
        path = self.path
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                try:  # leave no half line behind
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)
        if created:
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._bytes += len(data)


__all__ = ["DeadLetterFile", "otlp_json", "DEFAULT_MAX_BYTES", "MAX_ERROR_BYTES"]
