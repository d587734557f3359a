"""``QueryService``: the store's ``Reader`` (``spanhouse.query.model``).

A thin facade: each method borrows a ``clickhouse-connect`` client from the pool for its
duration (clients are thread-confined; the pool makes the service thread-safe) and delegates
the searches to ``search``, ``errors_by_service`` and ``catalog`` (their SQL is in
``spanhouse/query/sql/*.sql``), and the reads of whole traces by id to the store's
``TraceReader`` (``get_trace``, and ``find_traces`` after its search; one ``TraceReader`` kept
per pooled client). Every caller value is a bound query parameter; only the validated,
backquoted database and table names are formatted in.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from spanhouse.query import catalog, errors_by_service, search
from spanhouse.query.model import (
    AttributeFilter, Dependency, Operation, SearchQuery, ServiceErrors, TraceSummary,
)
from spanhouse.query.sqlutil import Tables, TablesCache
from spanhouse.store.pool import Pool
from spanhouse.store.reader import TraceReader, validate_trace_id


class QueryService:
    """Implements ``Reader`` over ``database.table`` (and its ``_trace_id_ts`` table).

    ``readers`` is a ``Pool`` of clickhouse-connect clients (``with readers.borrow() as c``).
    Works on Spanhouse's tables and on tables created by the collector's exporter (no
    ``AdjustedCount``: every span then weighs 1; no schema additions: every query reads the
    traces table).
    """

    def __init__(self, readers: Pool, database: str, table: str, *, use_additions: bool = True):
        self._readers = readers
        self._database, self._table = database, table
        # validates the names now; use_additions=False ignores Spanhouse's schema additions
        # (the exporter-table code path, for tests and benchmarks)
        self._tables = TablesCache(database, table, use_additions)
        self._trace_readers: dict[int, tuple[object, TraceReader]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def _reader(self, client) -> TraceReader:
        """The ``TraceReader`` of a pooled client (created once per client)."""
        entry = self._trace_readers.get(id(client))
        if entry is None or entry[0] is not client:
            reader = TraceReader(client, self._database, self._table)
            with self._lock:
                self._trace_readers[id(client)] = (client, reader)
            return reader
        return entry[1]

    @contextmanager
    def session(self) -> Iterator[tuple[object, Tables]]:
        """``with service.session() as (client, tables):`` a pooled client and the resolved
        table names, for readers of the store beside the query API (the analyses), so that
        one pool and one ``TablesCache`` serve them all."""
        with self._readers.borrow() as client:
            yield client, self._tables.get(client)

    # ------------------------------------------------------------------ Reader
    def get_trace(self, trace_id: str):
        trace_id = validate_trace_id(trace_id)
        with self._readers.borrow() as client:
            return self._reader(client).get_trace(trace_id)

    def services(self) -> list[str]:
        with self._readers.borrow() as client:
            return catalog.services(client, self._tables.get(client))

    def operations(self, service: str | None = None, span_kind: str | None = None) -> list[Operation]:
        with self._readers.borrow() as client:
            return catalog.operations(client, self._tables.get(client), service, span_kind)

    def search(self, query: SearchQuery) -> list[TraceSummary]:
        with self._readers.borrow() as client:
            return search.search(client, self._tables.get(client), query)

    def find_traces(self, query: SearchQuery):
        with self._readers.borrow() as client:
            tables = self._tables.get(client)
            found = search.search(client, tables, query)
            spans = self._reader(client).get_traces([s.trace_id for s in found])
            return [spans[s.trace_id] for s in found if s.trace_id in spans]

    def slowest(self, start_ns: int, end_ns: int, service: str | None = None,
                operation: str | None = None, attributes: tuple[AttributeFilter, ...] = (),
                limit: int = 20) -> list[TraceSummary]:
        with self._readers.borrow() as client:
            return search.slowest(client, self._tables.get(client), start_ns, end_ns, service,
                                  operation, attributes, limit)

    def errors_by_service(self, start_ns: int, end_ns: int) -> list[ServiceErrors]:
        with self._readers.borrow() as client:
            return errors_by_service.errors_by_service(client, self._tables.get(client), start_ns, end_ns)

    def find_by_attribute(self, key: str, value: str, at_ns: int, window_ns: int,
                          limit: int = 20) -> list[TraceSummary]:
        with self._readers.borrow() as client:
            return search.find_by_attribute(client, self._tables.get(client), key, value,
                                            at_ns, window_ns, limit)

    def dependencies(self, start_ns: int, end_ns: int) -> list[Dependency]:
        with self._readers.borrow() as client:
            return catalog.dependencies(client, self._tables.get(client), start_ns, end_ns)

    def close(self) -> None:
        """Closes the pool's clients."""
        self._trace_readers.clear()
        self._readers.close()
