"""A small pool of thread-confined store readers for the query side.

Store clients are not shared between threads; each query borrows one reader for its duration.
At most ``size`` readers are in use at once (``borrow`` waits for one otherwise); the query
service admits at most that many queries (``QueryService``'s ``max_concurrent_queries``, which
``grow``s the pool when it allows more), so a query never waits here.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

R = TypeVar("R")


class Pool(Generic[R]):
    def __init__(self, factory: Callable[[], R], size: int = 4):
        if size < 1:
            raise ValueError(f"a pool needs at least one reader, not {size}")
        self._factory = factory
        self._idle: queue.LifoQueue[R] = queue.LifoQueue()
        self._slots = queue.Queue()
        self._size = 0
        self._lock = threading.Lock()
        self._all: list[R] = []
        self.grow(size)

    @property
    def size(self) -> int:
        """How many readers may be in use at once."""
        return self._size

    def grow(self, size: int) -> None:
        """Allow up to ``size`` readers in use at once (never fewer than now)."""
        with self._lock:
            for _ in range(size - self._size):
                self._slots.put(None)
            self._size = max(self._size, size)

    @contextmanager
    def borrow(self) -> Iterator[R]:
        self._slots.get()  # bounded: at most `size` readers in use
        try:
            try:
                item = self._idle.get_nowait()
            except queue.Empty:
                item = self._factory()
                with self._lock:
                    self._all.append(item)
            try:
                yield item
            finally:
                self._idle.put(item)
        finally:
            self._slots.put(None)

    def close(self) -> None:
        with self._lock:
            items, self._all = self._all, []
        for item in items:
            close = getattr(item, "close", None)
            if close:
                close()
