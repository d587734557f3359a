"""A processor made of a synchronous filter ``sample(batch) -> batch`` (e.g. the
probabilistic sampler): what it keeps goes straight on, in the caller's thread, so
backpressure from downstream reaches the sender unchanged."""

from __future__ import annotations

from typing import Callable

from spanhouse.component import Consumer
from spanhouse.model.batch import SpanBatch


class FilterProcessor:
    def __init__(self, name: str, sample: Callable[[SpanBatch], SpanBatch], describe: str = ""):
        self.name = name
        self._sample = sample
        self.describe = describe
        self._next: Consumer | None = None

    def start(self, next_consumer: Consumer) -> None:
        self._next = next_consumer

    def consume(self, batch: SpanBatch) -> None:
        kept = self._sample(batch)
        if kept is not None and len(kept):
            self._next(kept)

    def shutdown(self, timeout: float) -> bool:
        return True
