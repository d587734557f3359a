"""The traces pipeline: processors in order, then every exporter (fan-out).

The components' interfaces are in ``spanhouse.component``; ``build_pipeline`` makes them with
their factories (``spanhouse.components``) from the collector config.

With several exporters every one receives every batch; if one of them refuses (overload),
the receiver answers with a retryable error and the sender retries, so an exporter that had
taken the batch may see it twice (at-least-once, as the collector's fan-out behaves).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Sequence

from spanhouse.component import BuildContext, Consumer, Exporter, Processor
from spanhouse.model.batch import SpanBatch

if TYPE_CHECKING:
    from spanhouse.config.settings import ServeSettings


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


def build_pipeline(settings: "ServeSettings", context: BuildContext) -> Pipeline:
    """The pipeline of ``settings.collector`` (the config's traces pipeline), or the default
    one (no processor, the store) when there is no config. Builds, validates, starts nothing;
    a mistake in a component's settings is a ``ConfigError`` located in the config file."""
    collector = settings.collector
    if collector is None:
        return Pipeline([], [context.store()])
    return Pipeline([collector.build(c, context) for c in collector.processors],
                    [collector.build(c, context) for c in collector.exporters])
