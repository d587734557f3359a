"""``SendingQueue`` and ``RetryPolicy`` with real worker threads and real waits."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from spanhouse.errors import Overloaded
from spanhouse.exporters.sending_queue import RetryPolicy, SendingQueue, Stopped
from spanhouse.telemetry import Telemetry


@dataclass(eq=False)
class Item:
    """A stand-in batch: ``n`` spans, a write-ahead log seq, a dedup token."""

    n: int
    seq_low: int = 0
    insert_token: str = ""
    name: str = ""

    def __len__(self) -> int:
        return self.n


class Flaky(Exception):
    def __init__(self, retryable: bool = True, throttle_s: float = 0.0):
        super().__init__("flaky")
        self.retryable = retryable
        self.throttle_s = throttle_s


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, Flaky) and exc.retryable


FAST = RetryPolicy(initial_interval=0.05, randomization_factor=0, multiplier=2,
                   max_interval=1.0, max_elapsed_time=0)


def gauges():
    telemetry = Telemetry()
    size = telemetry.gauge("test_queue_size", "size", ["exporter"]).labels("q")
    capacity = telemetry.gauge("test_queue_capacity", "capacity", ["exporter"]).labels("q")
    return telemetry, size, capacity


def sample(telemetry: Telemetry, name: str) -> float:
    return telemetry.registry.get_sample_value(name, {"exporter": "q"})


@pytest.mark.parametrize("sizer,capacity,sizes,refused", [
    ("requests", 2, [5, 5], 1),              # 2 batches of 2
    ("items", 10, [6], 5),                   # 6 + 5 spans > 10, 6 + 4 fits
    ("bytes", 1000, [6], 5),                 # size_of: 100 bytes a span
])
def test_capacity_refusal_per_sizer(sizer, capacity, sizes, refused):
    telemetry, size_gauge, capacity_gauge = gauges()
    queue = SendingQueue(lambda b: None, capacity=capacity, sizer=sizer,
                         size_of=lambda b: 100 * len(b), what="test queue",
                         size_gauge=size_gauge, capacity_gauge=capacity_gauge,
                         retry_after_s=2.0)  # not started: nothing leaves the queue
    for n in sizes:
        queue.offer(Item(n))
    with pytest.raises(Overloaded) as err:
        queue.offer(Item(refused))
    assert "test queue is full" in str(err.value) and err.value.retry_after_s == 2.0
    assert sample(telemetry, "test_queue_capacity") == capacity
    used = queue.used
    assert sample(telemetry, "test_queue_size") == used  # refused: nothing kept
    if sizer != "requests":
        queue.offer(Item(4))
        assert queue.used == used + (4 if sizer == "items" else 400)


def test_bytes_sizer_estimates_without_size_of():
    queue = SendingQueue(lambda b: None, capacity=1000, sizer="bytes", bytes_per_item=100)
    queue.offer(Item(9))
    assert queue.used == 900
    with pytest.raises(Overloaded):
        queue.offer(Item(2))


def test_oversized_batch_is_taken_when_the_queue_is_empty():
    queue = SendingQueue(lambda b: None, capacity=5, sizer="items")
    queue.offer(Item(50))
    assert queue.used == 50
    with pytest.raises(Overloaded):
        queue.offer(Item(1))


def test_one_consumer_drains_in_order():
    sent: list[str] = []
    queue = SendingQueue(lambda b: sent.append(b.name), capacity=100, num_consumers=1)
    queue.start()
    for i in range(30):
        queue.offer(Item(1, name=str(i)))
    assert queue.flush(5)
    assert sent == [str(i) for i in range(30)]
    assert queue.used == 0 and queue.held_seq() is None
    assert queue.shutdown(1) == []
    with pytest.raises(Overloaded, match="shutting down"):
        queue.offer(Item(1))


def test_many_consumers_send_in_parallel():
    barrier = threading.Barrier(4, timeout=5)
    queue = SendingQueue(lambda b: barrier.wait(), capacity=10, num_consumers=4)
    queue.start()
    for _ in range(4):
        queue.offer(Item(1))
    assert queue.flush(5)  # the four sends met at the barrier: they ran at the same time
    assert queue.shutdown(1) == []


def test_tokenless_batches_are_merged_and_tokened_ones_sent_alone():
    sent: list[list[str]] = []

    def merge(batches):
        return Item(sum(len(b) for b in batches), name="+".join(b.name for b in batches))

    queue = SendingQueue(lambda b: sent.append(b.name.split("+")), capacity=100, sizer="items",
                         merge=merge, merge_max_size=10,
                         can_merge=lambda b: not b.insert_token, linger_s=0.05)
    for name, n, token in [("a", 3, ""), ("b", 3, ""), ("c", 3, ""), ("d", 3, ""),
                           ("t", 2, "log:1-2"), ("e", 1, "")]:
        queue.offer(Item(n, insert_token=token, name=name))
    queue.start()
    assert queue.flush(5)
    assert sent == [["a", "b", "c"], ["d"], ["t"], ["e"]]  # 3+3+3+3 > 10
    queue.shutdown(1)


def test_worker_start_failure_is_raised_by_start():
    def fail():
        raise OSError("no store here")

    queue = SendingQueue(lambda b: None, capacity=1, on_worker_start=fail)
    with pytest.raises(OSError, match="no store here"):
        queue.start()


def test_retry_with_backoff_until_success():
    calls: list[float] = []
    retries: list[tuple[int, float]] = []

    def attempt():
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise Flaky()
        return "ok"

    done: list[str] = []
    queue = SendingQueue(
        lambda b: done.append(FAST.run(attempt, retryable, queue.stop_event,
                                       on_retry=lambda n, w, e: retries.append((n, w)))),
        capacity=1)
    queue.start()
    queue.offer(Item(1))
    assert queue.flush(10)
    assert done == ["ok"] and len(calls) == 4
    assert retries == [(1, 0.05), (2, 0.1), (3, 0.2)]
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    for gap, want in zip(gaps, [0.05, 0.1, 0.2]):
        assert want * 0.9 <= gap < want + 0.5
    queue.shutdown(1)


def test_permanent_error_is_not_retried():
    calls = []

    def attempt():
        calls.append(1)
        raise Flaky(retryable=False)

    with pytest.raises(Flaky):
        FAST.run(attempt, retryable)
    assert len(calls) == 1


def test_retry_disabled_means_one_attempt():
    calls = []

    def attempt():
        calls.append(1)
        raise Flaky()

    with pytest.raises(Flaky):
        RetryPolicy(enabled=False).run(attempt, retryable)
    assert len(calls) == 1


def test_max_elapsed_time_gives_up_and_is_counted():
    policy = RetryPolicy(initial_interval=0.05, randomization_factor=0, multiplier=1,
                         max_interval=0.05, max_elapsed_time=0.3)
    calls: list[int] = []
    given_up: list[int] = []

    def attempt():
        calls.append(1)
        raise Flaky()

    def send(batch):
        try:
            policy.run(attempt, retryable)
        except Flaky:  # the owner counts the spans it gives up on
            given_up.append(len(batch))

    queue = SendingQueue(send, capacity=1)
    queue.start()
    started = time.monotonic()
    queue.offer(Item(7, seq_low=3))
    assert queue.flush(5)
    assert given_up == [7]
    assert 4 <= len(calls) <= 7  # the next wait would pass 0.3 s
    assert 0.2 <= time.monotonic() - started < 1.5
    assert queue.held_seq() is None  # given up on by the owner's decision: not held
    queue.shutdown(1)


def test_shutdown_deadline_leaves_batches_held():
    attempts: list[int] = []

    def attempt():
        attempts.append(1)
        raise Flaky()

    telemetry, size_gauge, _ = gauges()
    queue = SendingQueue(lambda b: FAST.run(attempt, retryable, queue.stop_event),
                         capacity=10, size_gauge=size_gauge)
    queue.start()
    first, second, third = Item(2, seq_low=5), Item(2, seq_low=9), Item(2, seq_low=7)
    for batch in (first, second, third):
        queue.offer(batch)
    deadline = time.monotonic() + 5
    while not attempts:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert queue.held_seq() == 5  # in flight
    assert not queue.flush(0.2)
    started = time.monotonic()
    left = queue.shutdown(0.3)
    assert time.monotonic() - started < 1.0
    assert {id(b) for b in left} == {id(first), id(second), id(third)}
    assert queue.held_seq() == 5  # the log keeps all three for the next start
    with pytest.raises(Overloaded):
        queue.offer(Item(1))
    assert sample(telemetry, "test_queue_size") == 0


def test_stop_event_interrupts_a_wait_with_stopped():
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    def attempt():
        raise Flaky()

    with pytest.raises(Stopped):
        RetryPolicy(initial_interval=30, max_elapsed_time=0).run(attempt, retryable, stop)
    assert time.monotonic() - started < 2


def test_throttle_delay_is_honoured():
    calls: list[float] = []

    def attempt():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise Flaky(throttle_s=0.6)  # the server asks for 0.6 s; the backoff says 0.05 s
        return "ok"

    policy = RetryPolicy(initial_interval=0.05, randomization_factor=0, max_elapsed_time=10)
    assert policy.run(attempt, retryable, throttle_of=lambda e: e.throttle_s) == "ok"
    assert calls[1] - calls[0] >= 0.55


def test_send_raising_keeps_the_batch_held():
    def send(batch):
        raise RuntimeError("bug")

    queue = SendingQueue(send, capacity=10)
    queue.start()
    queue.offer(Item(1, seq_low=4))
    assert queue.flush(5)  # its capacity is given back ...
    assert queue.held_seq() == 4  # ... but the log keeps it
    assert [b.seq_low for b in queue.shutdown(1)] == [4]
