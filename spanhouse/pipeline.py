"""The traces pipeline: processors in order, then every exporter (fan-out).

Interfaces (as the OTel SDK keeps them, small):

- a *consumer* is a callable ``consume(batch)`` that takes the whole batch or raises
  ``Overloaded`` (retryable) having taken nothing, so a receiver can always tell the sender
  exactly what happened;
- a processor has ``start(next_consumer)``, ``consume(batch)`` and ``shutdown(timeout)``;
  synchronous ones (samplers, the memory limiter) pass their output straight on, buffering
  ones (tail sampling, batch) emit later from their own thread;
- an exporter has ``name``, ``start()``, ``export(batch)``, ``flush(timeout)`` and
  ``shutdown(timeout)``.

With several exporters every one receives every batch; if one of them refuses (overload),
the receiver answers with a retryable error and the sender retries, so an exporter that had
taken the batch may see it twice (at-least-once, as the collector's fan-out behaves).
"""

from __future__ import annotations

import time
from typing import Callable, Protocol, Sequence

from spanhouse.model.batch import SpanBatch

Consumer = Callable[[SpanBatch], None]


class Processor(Protocol):
    name: str

    def start(self, next_consumer: Consumer) -> None: ...
    def consume(self, batch: SpanBatch) -> None: ...
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
        self._head: Consumer = self._export

    def _export(self, batch: SpanBatch) -> None:
        if not batch:
            return
        for exporter in self.exporters:
            exporter.export(batch)

    def start(self) -> None:
        for exporter in self.exporters:
            exporter.start()
        consumer: Consumer = self._export
        for processor in reversed(self.processors):
            processor.start(consumer)
            consumer = processor.consume
        self._head = consumer

    def consume(self, batch: SpanBatch) -> None:
        """Run the batch through the pipeline. Raises ``Overloaded`` when it cannot be taken."""
        if batch:
            self._head(batch)

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span still inside the pipeline, or None.

        Components are asked upstream first: a batch handed downstream is registered by the
        next component before the previous one lets go, so it is seen at least once.
        Components without ``held_seq`` hold nothing once ``consume`` returned."""
        lows = []
        for component in (*self.processors, *self.exporters):
            held = getattr(component, "held_seq", None)
            low = held() if held is not None else None
            if low:
                lows.append(low)
        return min(lows) if lows else None

    def shutdown(self, timeout: float) -> bool:
        """Shut processors down in order (each flushes into the next), then drain the exporters."""
        deadline = time.monotonic() + timeout
        ok = True
        for processor in self.processors:
            ok &= processor.shutdown(max(0.0, deadline - time.monotonic()))
        for exporter in self.exporters:
            ok &= exporter.shutdown(max(0.0, deadline - time.monotonic()))
        return ok


def build_pipeline(settings, telemetry, store_exporter: Callable[[], Exporter]) -> Pipeline:
    """The pipeline of ``settings.collector`` (the config's traces pipeline), or the default
    one (no processor, the store) when there is no config. Builds, validates, starts nothing."""
    from spanhouse.config.registry import build_exporter, build_processor

    collector = settings.collector
    if collector is None:
        return Pipeline([], [store_exporter()])
    processors = [_located(collector, build_processor, c, telemetry) for c in collector.processors]
    exporters = [_located(collector, build_exporter, c, telemetry, store_exporter)
                 for c in collector.exporters]
    return Pipeline(processors, exporters)


def _located(collector, factory, component, *args):
    from spanhouse.config.document import load_document
    from spanhouse.errors import ConfigError

    try:
        return factory(component, *args)
    except ConfigError as exc:
        if getattr(exc, "key", None) and not str(exc).startswith(collector.path):
            raise load_document(collector.path).locate(exc) from None
        raise
