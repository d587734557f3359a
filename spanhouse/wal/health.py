"""Readiness and the write path's gauges: is the store keeping up with the log?

``/healthz`` is liveness only. ``/readyz`` (``Health.readiness``) is 503 with a reason when

- the write-ahead log is nearly full (senders are, or soon will be, refused);
- the log could not write lately (disk full);
- data waits and the store has not committed anything for ``STALL_S`` (failing or stuck).

A load balancer can then route senders elsewhere while this server catches up.
"""

from __future__ import annotations

import time
from typing import Callable

NEARLY_FULL = 0.9
STALL_S = 15.0
RECENT_WRITE_FAILURE_S = 10.0


class Health:
    def __init__(self, wal, feeder, store_exporters: list, is_started: Callable[[], bool]):
        self.wal = wal
        self.feeder = feeder
        self.store_exporters = store_exporters
        self.is_started = is_started

    def waiting(self) -> bool:
        return self.wal.released < self.wal.last_seq

    def commit_lag(self) -> float:
        """Seconds since the store last committed, while data waits for it (else 0)."""
        if not self.waiting() or not self.store_exporters:
            return 0.0
        last = max(e.last_commit for e in self.store_exporters)
        return max(0.0, min(time.monotonic() - last, self.wal.oldest_unreleased_age()))

    def readiness(self) -> tuple[bool, str]:
        if not self.is_started():
            return False, "starting"
        wal = self.wal
        used = wal.bytes_used
        if used >= NEARLY_FULL * wal.max_bytes:
            return False, (f"write-ahead log nearly full: {used} of {wal.max_bytes} bytes "
                           "(the store is behind)")
        if wal.last_error and time.monotonic() - wal.last_error_at < RECENT_WRITE_FAILURE_S:
            return False, wal.last_error
        lag = self.commit_lag()
        if lag > STALL_S:
            errors = [e.last_error for e in self.store_exporters if e.last_error]
            why = f": {errors[0]}" if errors else ""
            return False, f"the store has not committed for {lag:.0f}s while spans wait{why}"
        return True, "ok"

    def register(self, telemetry) -> None:
        gauge = telemetry.gauge
        gauge("spanhouse_wal_bytes", "Bytes of the write-ahead log on disk.", []
              ).set_function(lambda: self.wal.bytes_used)
        gauge("spanhouse_wal_capacity_bytes", "Size limit of the write-ahead log (--wal-max-bytes).",
              []).set_function(lambda: self.wal.max_bytes)
        gauge("spanhouse_wal_oldest_unstored_seconds",
              "Age of the oldest acknowledged request not yet fully stored.", []
              ).set_function(self.wal.oldest_unreleased_age)
        gauge("spanhouse_wal_write_failures", "Log writes that failed (disk full); their senders "
              "were refused with a retryable error.", []
              ).set_function(lambda: self.wal.write_failures)
        gauge("spanhouse_store_commit_lag_seconds",
              "Seconds since the store last committed while spans wait (0 when idle).", []
              ).set_function(self.commit_lag)
        gauge("spanhouse_memory_queue_bytes",
              "Charged bytes of decoded spans held between the log and the store (--queue-bytes).",
              []).set_function(lambda: self.feeder.memory_used)
        gauge("spanhouse_wal_backlog_spans", "Spans logged and not yet handed to the pipeline.",
              []).set_function(lambda: self.feeder.backlog_spans)
