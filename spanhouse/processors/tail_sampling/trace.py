"""One buffered trace, as the tail-sampling policies see it.

The buffer keeps no Python object per span: a trace is a list of *parts*, each a ``SpanBatch``
(as it arrived from a receiver, shared with the other traces of that request) and the row
numbers of this trace's spans in it. Policies read the batch columns directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spanhouse.model.batch import SpanBatch


@dataclass(slots=True)
class TraceView:
    trace_id: str                                   # 32 lowercase hex chars
    parts: list[tuple[SpanBatch, list[int]]] = field(default_factory=list)
    span_count: int = 0
    size_bytes: int = 0                             # approximate OTLP protobuf size of the spans
    first_arrival: float = 0.0                      # monotonic seconds
    root_arrival: float | None = None               # when a span without parent arrived

    def add(self, batch: SpanBatch, rows: list[int], size_bytes: int) -> None:
        self.parts.append((batch, rows))
        self.span_count += len(rows)
        self.size_bytes += size_bytes

    def take(self) -> SpanBatch:
        """The trace's spans as one new batch (what a sampled decision emits)."""
        if len(self.parts) == 1:
            batch, rows = self.parts[0]
            return batch.take(rows)
        return SpanBatch.concat(batch.take(rows) for batch, rows in self.parts)


def span_sizes(batch: SpanBatch) -> list[int]:
    """Approximate OTLP protobuf size of each span (ids, name, times, attributes, events,
    links), for ``maximum_trace_size_bytes`` and ``bytes_limiting``."""
    a = batch.attributes
    attr_bytes = [0] * len(batch)
    keys, values, offsets = a.keys, a.values, a.offsets
    for i in range(len(batch)):
        total = 0
        for j in range(offsets[i], offsets[i + 1]):
            total += len(keys[j]) + len(values[j]) + 6
        attr_bytes[i] = total
    ev, ln = batch.event_offsets, batch.link_offsets
    return [
        64 + len(batch.name[i]) + len(batch.trace_state[i]) + len(batch.status_message[i])
        + attr_bytes[i] + 40 * (ev[i + 1] - ev[i]) + 40 * (ln[i + 1] - ln[i])
        for i in range(len(batch))
    ]
