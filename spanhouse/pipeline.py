"""The traces pipeline: processors in order, then every exporter.

A processor has ``process(batch) -> SpanBatch | None`` (None or an empty batch: nothing goes
on), ``flush(timeout)`` and ``shutdown(timeout)``; an exporter has ``export(batch)``,
``flush(timeout)`` and ``shutdown(timeout)``. ``export`` either takes the whole batch or raises
``Overloaded`` (retryable) having taken nothing, so a receiver can always tell the sender
exactly what happened.
"""

from __future__ import annotations

import time
from typing import Protocol, Sequence

from spanhouse.model.batch import SpanBatch


class Processor(Protocol):
    def process(self, batch: SpanBatch) -> SpanBatch | None: ...
    def flush(self, timeout: float) -> bool: ...
    def shutdown(self, timeout: float) -> bool: ...


class Exporter(Protocol):
    name: str

    def start(self) -> None: ...
    def export(self, batch: SpanBatch) -> None: ...
    def flush(self, timeout: float) -> bool: ...
    def shutdown(self, timeout: float) -> bool: ...


class Pipeline:
    def __init__(self, processors: Sequence[Processor], exporters: Sequence[Exporter]):
        self.processors = list(processors)
        self.exporters = list(exporters)

    def start(self) -> None:
        for exporter in self.exporters:
            exporter.start()

    def consume(self, batch: SpanBatch) -> None:
        """Run the batch through the pipeline. Raises ``Overloaded`` when it cannot be taken."""
        for processor in self.processors:
            batch = processor.process(batch)
            if not batch:
                return
        for exporter in self.exporters:
            exporter.export(batch)

    def shutdown(self, timeout: float) -> bool:
        """Flush processors first (they may emit spans), then drain and stop the exporters."""
        deadline = time.monotonic() + timeout
        ok = True
        for processor in self.processors:
            ok &= processor.shutdown(max(0.0, deadline - time.monotonic()))
        for exporter in self.exporters:
            ok &= exporter.shutdown(max(0.0, deadline - time.monotonic()))
        return ok
