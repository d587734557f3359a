"""The store's two contracts, as Jaeger v2's ``tracestore`` (``internal/storage/v2/api/tracestore``):
``Writer`` (here) and ``Reader`` (defined in ``spanhouse.query.model`` beside the parameter and
result types it speaks, and re-exported here).

Implementations, and how the code is laid out around them:

- ``Writer``: ``spanhouse.store.writer.TraceWriter``, one INSERT per batch.
- ``Reader``: ``spanhouse.query.service.QueryService``. ``spanhouse/store`` holds what depends on
  the table's exact columns: the schema (``schema``), the writing (``writer``,
  ``native_insert``) and the read of whole traces by id (``reader.TraceReader``, which both
  ``get_trace`` and ``find_traces`` use). ``spanhouse/query`` holds the searches over the
  table (``catalog``, ``search``, ``errors_by_service``) and the ``QueryService`` facade.

``tests/conformance`` is the one data-driven suite both contracts answer to: it writes its
fixture traces through a ``Writer`` and runs every query case through a ``Reader``, on the
embedded store and, with ``CLICKHOUSE_URL`` set, on a ClickHouse server.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from spanhouse.model.batch import SpanBatch
from spanhouse.model.raw_chunk import RawChunk
from spanhouse.query.model import Reader

__all__ = ["Reader", "Writer"]


@runtime_checkable
class Writer(Protocol):
    """Writes spans into the store (Jaeger's ``tracestore.Writer.WriteTraces``).

    A writer is thread-confined: it MUST be used from one thread at a time. Open one per
    writing thread.
    """

    def write(self, batch: SpanBatch | RawChunk) -> int:
        """Store every span of ``batch`` and return how many were written (``len(batch)``).

        - It MUST return only once the spans are durable in the store and visible to every
          ``Reader`` of it.
        - On a store failure it MUST raise ``StoreError`` (retryable); the caller MUST then
          assume any part of the batch may or may not have been written. A batch that cannot
          be converted for the store raises ``InvalidInput`` (permanent).
        - It is idempotent only for a batch with an ``insert_token``, on a store that
          deduplicates inserts (``schema.enable_deduplication``); otherwise writing a batch
          twice stores its spans twice.
        - It MUST NOT modify the batch, nor keep a reference to it after returning.
        """

    def stored_span_ids(self, trace_ids: list[str]) -> set[tuple[str, str]]:
        """The ``(TraceId, SpanId)`` pairs (lowercase hex) the store holds for these traces.
        It MUST see every span a ``write`` returned for; ``StoreError`` when the store fails.
        Used on replay, to store only what a crash left unstored."""

    def close(self) -> None:
        """Release the writer's connection; the writer MUST NOT be used afterwards."""
