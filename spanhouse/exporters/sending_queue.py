"""One bounded queue and one retry policy for every exporter (the collector's exporterhelper).

``SendingQueue`` holds batches between ``export`` and the owner's ``send(batch)``, called from
``num_consumers`` worker threads. Its size is counted by a *sizer*: ``requests`` (batches),
``items`` (spans) or ``bytes`` (the owner's ``size_of(batch)``, else ``len(batch)`` times an
estimate). Queued and in-flight batches both hold capacity.

Overflow policy: refuse. ``offer`` raises ``Overloaded`` (retryable) and keeps nothing when the
batch does not fit; a batch larger than the whole queue is still taken when the queue is empty,
or it could never pass. Nothing is dropped by the queue itself.

Shutdown: ``shutdown(timeout)`` refuses new batches, lets the workers drain until the deadline,
then sets ``stop_event`` (``RetryPolicy.run`` raises ``Stopped`` at its next wait) and returns
the batches it could not finish. Those, like a batch whose ``send`` raised, stay *held*:
``held_seq()`` keeps reporting their write-ahead log seq so the log replays them at the next
start. ``send`` returning normally means the batch is done (delivered or dropped and counted
by the owner).

Thread-safety: every public method may be called from any thread; ``send``, ``merge`` and the
worker hooks run on the worker threads only, never under the queue's lock.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from tenacity import Retrying, retry_if_exception

from spanhouse.errors import Overloaded

log = logging.getLogger(__name__)

UNITS = {"requests": "requests", "items": "spans", "bytes": "bytes"}


class Stopped(Exception):
    """The shutdown deadline came before the work was done; the batch stays held."""


@dataclass(frozen=True)
class RetryPolicy:
    """``retry_on_failure`` (the collector's configretry.BackOffConfig); defaults as upstream.

    ``max_elapsed_time`` 0 retries forever. Waits grow from ``initial_interval`` by
    ``multiplier`` up to ``max_interval``, each randomized by ``± randomization_factor``."""

    enabled: bool = True
    initial_interval: float = 5.0
    randomization_factor: float = 0.5
    multiplier: float = 1.5
    max_interval: float = 30.0
    max_elapsed_time: float = 300.0

    def interval(self, attempt: int) -> float:
        """The un-randomized wait after failed attempt ``attempt`` (1-based)."""
        value = self.initial_interval * (self.multiplier ** (attempt - 1))
        return min(value, self.max_interval) if self.max_interval > 0 else value

    def randomized(self, attempt: int, rng: random.Random | None = None) -> float:
        """The interval randomized to ``interval * (1 ± randomization_factor)``."""
        base = self.interval(attempt)
        delta = self.randomization_factor * base
        return (rng or random).uniform(base - delta, base + delta)

    def run(self, attempt_fn: Callable[[], Any], is_retryable: Callable[[BaseException], bool],
            stop_event: threading.Event | None = None, *,
            throttle_of: Callable[[BaseException], float] | None = None,
            on_retry: Callable[[int, float, BaseException], None] | None = None,
            rng: random.Random | None = None) -> Any:
        """Call ``attempt_fn`` until it returns (its result is returned), retrying the errors
        ``is_retryable`` accepts. A retryable error is re-raised once ``max_elapsed_time``
        would be passed by the next wait (as upstream); any other error at once. Waits last at
        least the server's ``throttle_of(error)`` seconds (RetryInfo, Retry-After) and end
        early when ``stop_event`` is set, which raises ``Stopped`` (from the last error)
        instead of retrying. ``on_retry(attempt, wait_s, error)`` runs before each wait."""
        if not self.enabled:
            return attempt_fn()
        stop_event = stop_event or threading.Event()
        intervals: dict[int, float] = {}

        def interval(state) -> float:  # drawn once per attempt (cenkalti/backoff)
            n = state.attempt_number
            if n not in intervals:
                intervals[n] = self.randomized(n, rng)
            return intervals[n]

        def wait(state) -> float:  # a throttling hint stretches the wait, never shortens it
            exc = state.outcome.exception()
            return max(interval(state), throttle_of(exc) if throttle_of and exc else 0.0)

        def stop(state) -> bool:  # as upstream: give up when the next wait would end past it
            limit = self.max_elapsed_time
            return stop_event.is_set() or 0 < limit < state.seconds_since_start + interval(state)

        def gave_up(state):
            exc = state.outcome.exception()
            if stop_event.is_set():
                raise Stopped(f"stopped retrying at the shutdown deadline: {exc}") from exc
            raise exc

        def before_sleep(state) -> None:
            if on_retry is not None:
                on_retry(state.attempt_number, wait(state), state.outcome.exception())

        def before(state) -> None:  # woken from a wait by the stop event: no more attempts
            if state.attempt_number > 1 and stop_event.is_set():
                raise Stopped("stopped retrying at the shutdown deadline")

        return Retrying(
            retry=retry_if_exception(is_retryable), wait=wait, stop=stop, before=before,
            sleep=stop_event.wait, before_sleep=before_sleep, retry_error_callback=gave_up,
        )(attempt_fn)


class SendingQueue:
    """A bounded queue in front of ``num_consumers`` threads calling ``send(batch)``.

    With ``merge``, a worker gives a head batch that ``can_merge`` up to ``linger_s`` to
    gather company (unless the queue is half full or closing), then takes the run of
    mergeable batches that fits in ``merge_max_size`` (sizer units) and sends
    ``merge(batches)``; a batch that cannot merge is always sent alone."""

    def __init__(self, send: Callable[[Any], None], *, capacity: int, sizer: str = "requests",
                 num_consumers: int = 1, size_of: Callable[[Any], int] | None = None,
                 bytes_per_item: int = 512, merge: Callable[[list], Any] | None = None,
                 merge_max_size: int = 0, can_merge: Callable[[Any], bool] | None = None,
                 linger_s: float = 0.0, what: str = "sending queue",
                 closed_message: str = "the server is shutting down", retry_after_s: float = 1.0,
                 size_gauge=None, capacity_gauge=None, thread_name: str = "spanhouse-queue",
                 on_worker_start: Callable[[], None] | None = None,
                 on_worker_stop: Callable[[], None] | None = None):
        """``send(batch)`` returning means done; raising ``Stopped`` (or anything else: logged)
        leaves the batch held. ``on_worker_start``/``on_worker_stop`` run in each worker
        (e.g. a thread-confined client); gauges are the owner's (``.set(value)``)."""
        if sizer not in UNITS:
            raise ValueError(f"unknown sizer {sizer!r}")
        self._send, self.capacity, self.sizer = send, capacity, sizer
        self.num_consumers, self.retry_after_s = num_consumers, retry_after_s
        self._size_of, self._bytes_per_item = size_of, bytes_per_item
        self._merge, self._merge_max, self._linger_s = merge, merge_max_size or capacity, linger_s
        self._can_merge = can_merge or (lambda batch: True)
        self._what, self._closed_message = what, closed_message
        self._size_gauge, self._thread_name = size_gauge, thread_name
        self._on_worker_start, self._on_worker_stop = on_worker_start, on_worker_stop
        self._queue: deque[tuple[Any, int]] = deque()
        self._inflight: dict[int, list[tuple[Any, int]]] = {}
        self._left: list[Any] = []   # given up (deadline, or send raised): still held
        self._used = self._flushing = 0
        self._cond = threading.Condition()
        self._closing = False
        self.deadline: float | None = None   # monotonic shutdown deadline, once shutting down
        self.stop_event = threading.Event()  # set when the deadline has passed
        self._threads: list[threading.Thread] = []
        if capacity_gauge is not None:
            capacity_gauge.set(capacity)

    def start(self) -> None:
        """Start the workers; raises what ``on_worker_start`` raised in any of them."""
        errors: list[BaseException] = []
        ready = threading.Barrier(self.num_consumers + 1)
        self._threads = [threading.Thread(target=self._work, args=(ready, errors), daemon=True,
                                          name=f"{self._thread_name}-{i}")
                         for i in range(self.num_consumers)]
        for thread in self._threads:
            thread.start()
        ready.wait()
        if errors:
            raise errors[0]

    def size(self, batch) -> int:
        if self.sizer != "bytes":
            return 1 if self.sizer == "requests" else len(batch)
        return self._size_of(batch) if self._size_of else len(batch) * self._bytes_per_item

    def offer(self, batch) -> None:
        """Queue ``batch`` or raise ``Overloaded`` having kept nothing (full, or closed)."""
        size = self.size(batch)
        with self._cond:
            if self._closing:
                raise Overloaded(self._closed_message, self.retry_after_s)
            if self._used and self._used + size > self.capacity:
                raise Overloaded(f"{self._what} is full ({self._used} of {self.capacity} "
                                 f"{UNITS[self.sizer]})", self.retry_after_s)
            self._queue.append((batch, size))
            self._resize(size)

    @property
    def used(self) -> int:
        """Queued plus in-flight, in the sizer's unit."""
        return self._used

    def held_seq(self) -> int | None:
        """The lowest nonzero ``seq_low`` of a batch queued, in flight or given up, or None."""
        with self._cond:
            batches = [b for b, _ in self._queue] + self._left
            batches += [b for entries in self._inflight.values() for b, _ in entries]
            return min((b.seq_low for b in batches if b.seq_low), default=None)

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight (lingering batches are sent at once)."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._used == 0, timeout)
            finally:
                self._flushing -= 1

    def shutdown(self, timeout: float, grace: float = 0.25) -> list:
        """Refuse new batches, drain until ``timeout``, then stop (``stop_event``) and wait
        ``grace`` more for the workers. Returns the batches not done: they stay held."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self.deadline = deadline
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.stop_event.set()
        with self._cond:
            self._cond.notify_all()
        grace_end = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, grace_end - time.monotonic()))
        with self._cond:
            self._left.extend(b for b, _ in self._queue)
            self._resize(-sum(size for _, size in self._queue))
            self._queue.clear()
            return self._left + [b for entries in self._inflight.values() for b, _ in entries]

    def _resize(self, delta: int) -> None:  # under the lock
        self._used += delta
        if self._size_gauge is not None:  # the owner's gauge
            self._size_gauge.set(self._used)
        self._cond.notify_all()

    def _work(self, ready: threading.Barrier, errors: list) -> None:
        try:
            if self._on_worker_start is not None:
                self._on_worker_start()
        except BaseException as exc:  # reported by start()
            errors.append(exc)
        ready.wait()
        if errors:
            return
        try:
            while (entries := self._take()) is not None:
                self._send_taken(entries)
        finally:
            if self._on_worker_stop is not None:
                self._on_worker_stop()

    def _take(self) -> list[tuple[Any, int]] | None:
        with self._cond:
            while True:
                self._cond.wait_for(lambda: self._queue or self._closing)
                if not self._queue or self.stop_event.is_set():
                    return None  # closing and drained, or past the deadline
                if self._merge is not None and self._can_merge(self._queue[0][0]):
                    # Let small batches gather into a larger send, but never while the queue
                    # is half full: then senders are waiting on us.
                    enough = min(self._merge_max, self.capacity // 2)
                    if not self._closing and not self._flushing and self._used < enough:
                        self._cond.wait_for(lambda: self._closing or self._flushing
                                            or self._used >= enough, self._linger_s)
                    if not self._queue:
                        continue  # another worker took it
                entries = [self._queue.popleft()]
                if self._merge is not None and self._can_merge(entries[0][0]):
                    total = entries[0][1]
                    while (self._queue and self._can_merge(self._queue[0][0])
                           and total + self._queue[0][1] <= self._merge_max):
                        total += self._queue[0][1]
                        entries.append(self._queue.popleft())
                self._inflight[id(entries)] = entries
                return entries

    def _send_taken(self, entries: list[tuple[Any, int]]) -> None:
        batches, done = [b for b, _ in entries], False
        try:
            self._send(batches[0] if len(batches) == 1 else self._merge(batches))
            done = True
        except Stopped:
            pass
        except Exception:  # never let a worker die; the batch stays held for a replay
            log.exception("%s: unexpected error sending %d batch(es); kept for replay",
                          self._what, len(batches))
        with self._cond:
            del self._inflight[id(entries)]
            if not done:
                self._left.extend(batches)
            self._resize(-sum(size for _, size in entries))
