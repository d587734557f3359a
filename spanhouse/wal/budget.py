"""A byte budget for decoded spans held in memory between the log and the store
(``--queue-bytes``).

Decoded ``SpanBatch`` columns take several times the bytes of their OTLP protobuf encoding
(Python strings and ints); ``charge_for`` turns an encoded size into the charge, with the ratio
measured in docs/performance.md. When the budget is spent, a committed request's batch is not
kept: the log holds it, and the feeder reads it back from disk when the store has caught up.
"""

from __future__ import annotations

import threading

# Decoded SpanBatch bytes per byte of OTLP protobuf (measured with tracemalloc on the bench
# workload: ~1,900 bytes of Python objects per span for ~350 bytes of protobuf).
DECODED_PER_ENCODED_BYTE = 6


def charge_for(encoded_bytes: int) -> int:
    return encoded_bytes * DECODED_PER_ENCODED_BYTE


class MemoryBudget:
    def __init__(self, total_bytes: int):
        self.total = total_bytes
        self.used = 0
        self._cond = threading.Condition()

    def try_acquire(self, n: int) -> bool:
        with self._cond:
            if self.used + n > self.total and self.used:
                return False
            self.used += n  # one charge larger than the whole budget passes when nothing is held
            return True

    def acquire(self, n: int, timeout: float) -> bool:
        with self._cond:
            ok = self._cond.wait_for(lambda: self.used + n <= self.total or not self.used, timeout)
            if ok:
                self.used += n
            return ok

    def release(self, n: int) -> None:
        if n:
            with self._cond:
                self.used = max(0, self.used - n)
                self._cond.notify_all()
