"""A small pool of thread-confined store readers for the query side.

Store clients are not shared between threads; each query borrows one reader for its duration.
"""

from __future__ import annotations

import queue
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

R = TypeVar("R")


class Pool(Generic[R]):
    def __init__(self, factory: Callable[[], R], size: int = 4):
        self._factory = factory
        self._idle: queue.LifoQueue[R] = queue.LifoQueue()
        self._slots = queue.Queue()
        for _ in range(size):
            self._slots.put(None)
        self._all: list[R] = []

    @contextmanager
    def borrow(self) -> Iterator[R]:
        self._slots.get()  # bounded: at most `size` readers in use
        try:
            try:
                item = self._idle.get_nowait()
            except queue.Empty:
                item = self._factory()
                self._all.append(item)
            try:
                yield item
            finally:
                self._idle.put(item)
        finally:
            self._slots.put(None)

    def close(self) -> None:
        for item in self._all:
            close = getattr(item, "close", None)
            if close:
                close()
        self._all.clear()
