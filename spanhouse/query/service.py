"""``QueryService``: the store's ``Reader`` (``spanhouse.query.model``).

A thin facade: each method borrows a ``clickhouse-connect`` client from the pool for its
duration (clients are thread-confined; the pool makes the service thread-safe) and delegates
the searches to ``search``, ``errors_by_service`` and ``catalog`` (their SQL is in
``spanhouse/query/sql/*.sql``), and the reads of whole traces by id to the store's
``TraceReader`` (``get_trace``, and ``find_traces`` after its search; one ``TraceReader`` kept
per pooled client). Every caller value is a bound query parameter; only the validated,
backquoted database and table names are formatted in.

No query can starve the others:

- every read runs under ClickHouse's ``max_execution_time`` (``query_timeout_s``, default 30 s,
  set on each pooled client: an HTTP session setting, a ``SET`` on a chDB handle); the store
  stops a query that runs longer and the service raises ``QueryTimeout`` (503, "narrow the
  window"), whatever the read: a search, a trace, an analysis's rows (``session()``);
- at most ``max_concurrent_queries`` reads run at once (default: the pool's size), and one of
  those slots is kept for lookups (services, operations, a trace by id) so that they never
  queue behind searches and analyses; a read that gets no slot within ``slot_wait_s`` (1 s), or
  finds ``max_waiting`` reads of its kind already waiting (twice as many as may run), is
  refused with ``QueryBusy`` (503 + ``Retry-After``) without touching the store.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from spanhouse.errors import ConfigError, QueryBusy, QueryTimeout
from spanhouse.query import catalog, errors_by_service, search
from spanhouse.query.model import (
    AttributeFilter, Dependency, Operation, SearchQuery, ServiceErrors, TraceSummary,
)
from spanhouse.query.sqlutil import Tables, TablesCache
from spanhouse.store.pool import Pool
from spanhouse.store.reader import TraceReader, validate_trace_id

log = logging.getLogger(__name__)

DEFAULT_QUERY_TIMEOUT_S = 30.0
DEFAULT_SLOT_WAIT_S = 1.0
BUSY_RETRY_AFTER_S = 1.0
TIMEOUT_EXCEEDED = 159   # ClickHouse's error code (max_execution_time, overflow mode 'throw')


def timed_out(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an error it was raised from (``raise ... from``) is the store's
    TIMEOUT_EXCEEDED: the driver's error ``code``, else (code unknown) its message's start."""
    for _ in range(8):
        if exc is None:
            return False
        code = getattr(exc, "code", None)
        if code == TIMEOUT_EXCEEDED or (
                code is None and str(exc).lstrip().startswith(f"Code: {TIMEOUT_EXCEEDED}.")):
            return True
        exc = exc.__cause__
    return False


class QuerySlots:
    """At most ``total`` reads at once; ``reserved`` of them only for lookups (a search or an
    analysis may take ``total - reserved``). A read waits at most ``wait_s`` for its slot, and
    at most ``max_waiting`` reads of each kind wait at once (a waiting read holds a thread of
    the API): any other read, or one still waiting after ``wait_s``, is refused with
    ``QueryBusy`` without touching the store."""

    def __init__(self, total: int, reserved: int, wait_s: float, max_waiting: int):
        self.total, self.reserved, self.wait_s = total, reserved, wait_s
        self.max_waiting = max_waiting
        self._all = threading.BoundedSemaphore(total)
        self._searches = threading.BoundedSemaphore(total - reserved)
        self._lock = threading.Lock()
        self._waiting = {True: 0, False: 0}   # lookup? -> reads waiting for a slot

    def waiting(self, lookup: bool) -> int:
        """How many lookups (or searches and analyses) wait for a slot now."""
        return self._waiting[lookup]

    def _busy(self, lookup: bool) -> QueryBusy:
        kind = "lookups" if lookup else "searches and analyses"
        return QueryBusy(f"the server is busy: all query slots for {kind} are taken "
                         f"(max_concurrent_queries {self.total}); retry in a moment",
                         BUSY_RETRY_AFTER_S)

    def _wait(self, gate: threading.BoundedSemaphore, lookup: bool, deadline: float) -> None:
        with self._lock:
            if self._waiting[lookup] >= self.max_waiting:
                raise self._busy(lookup)
            self._waiting[lookup] += 1
        try:
            acquired = gate.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._waiting[lookup] -= 1
        if not acquired:
            raise self._busy(lookup)

    @contextmanager
    def held(self, lookup: bool) -> Iterator[None]:
        deadline = time.monotonic() + self.wait_s
        gates = (self._all,) if lookup else (self._searches, self._all)
        taken = []
        try:
            for gate in gates:
                if not gate.acquire(blocking=False):
                    self._wait(gate, lookup, deadline)
                taken.append(gate)
            yield
        finally:
            for gate in reversed(taken):
                gate.release()


class QueryService:
    """Implements ``Reader`` over ``database.table`` (and its ``_trace_id_ts`` table).

    ``readers`` is a ``Pool`` of clickhouse-connect clients (``with readers.borrow() as c``).
    Works on Spanhouse's tables and on tables created by the collector's exporter (no
    ``AdjustedCount``: every span then weighs 1; no schema additions: every query reads the
    traces table).

    ``max_concurrent_queries`` (default: the pool's size; the pool grows to it) bounds the reads
    running at once, ``reserved_for_lookups`` of them (default 1, 0 when only one query may
    run) kept for services, operations and traces by id; ``query_timeout_s`` is ClickHouse's
    ``max_execution_time`` of every read (0: no limit); ``slot_wait_s`` how long a read waits
    for a slot before ``QueryBusy``, ``max_waiting`` (default: twice ``max_concurrent_queries``)
    how many reads of a kind may wait at once (any more are refused at once: a waiting read holds
    one of the API's threads, which a lookup needs too).
    """

    def __init__(self, readers: Pool, database: str, table: str, *, use_additions: bool = True,
                 max_concurrent_queries: int | None = None,
                 query_timeout_s: float | None = DEFAULT_QUERY_TIMEOUT_S,
                 slot_wait_s: float = DEFAULT_SLOT_WAIT_S,
                 reserved_for_lookups: int | None = None, max_waiting: int | None = None):
        # None: the default (what a config that does not set the key gives)
        total = readers.size if max_concurrent_queries is None else max_concurrent_queries
        if query_timeout_s is None:
            query_timeout_s = DEFAULT_QUERY_TIMEOUT_S
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ConfigError(f"max_concurrent_queries must be a whole number >= 1, not {total!r}")
        if isinstance(query_timeout_s, bool) or not isinstance(query_timeout_s, (int, float)) \
                or not 0 <= query_timeout_s < float("inf"):
            raise ConfigError("max_execution_time (query_timeout_s) must be a number of seconds "
                              f">= 0 (0: no limit), not {query_timeout_s!r}")
        reserved = min(1, total - 1) if reserved_for_lookups is None else reserved_for_lookups
        if not 0 <= reserved < total:
            raise ConfigError(f"reserved_for_lookups must be within 0..{total - 1}, "
                              f"not {reserved!r}")
        readers.grow(total)
        self._readers = readers
        self._database, self._table = database, table
        # validates the names now; use_additions=False ignores Spanhouse's schema additions
        # (the exporter-table code path, for tests and benchmarks)
        self._tables = TablesCache(database, table, use_additions)
        self._trace_readers: dict[int, tuple[object, TraceReader]] = {}
        self._lock = threading.Lock()
        self._setting_refused = False
        # (a positive timeout stays positive: ClickHouse reads 0 as "no limit")
        self.query_timeout_s = max(float(query_timeout_s), 1e-6) if query_timeout_s else 0.0
        # seconds as ClickHouse reads them (no exponent: 0.000001, 30)
        self._timeout_text = format(self.query_timeout_s, "f").rstrip("0").rstrip(".") or "0"
        self.slots = QuerySlots(total, reserved, slot_wait_s,
                                2 * total if max_waiting is None else max_waiting)

    @property
    def max_concurrent_queries(self) -> int:
        return self.slots.total

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

    def _prepare(self, client) -> None:
        """Sets ``max_execution_time`` on a pooled client unless it has it (a session setting:
        it holds for every later query of the client)."""
        get = getattr(client, "get_client_setting", None)
        if get is None or get("max_execution_time") == self._timeout_text:
            return
        try:
            client.set_client_setting("max_execution_time", self._timeout_text)
        except Exception as exc:  # noqa: BLE001 - e.g. a readonly user of a ClickHouse server
            if not self._setting_refused:
                self._setting_refused = True
                log.warning("the store refuses max_execution_time %ss for the query side (%s); "
                            "the user's own profile limit applies: set max_execution_time there",
                            self._timeout_text, str(exc).splitlines()[0][:200] if str(exc) else
                            type(exc).__name__)

    @contextmanager
    def _client(self, what: str, lookup: bool = False) -> Iterator[object]:
        """A pooled client, once a query slot is free (else ``QueryBusy``); a read the store
        stopped at ``max_execution_time`` becomes ``QueryTimeout``."""
        with self.slots.held(lookup), self._readers.borrow() as client:
            try:
                self._prepare(client)
                yield client
            except QueryTimeout:
                raise
            except Exception as exc:
                if timed_out(exc):
                    hint = "" if lookup else \
                        "; narrow the time window, add filters or lower the limit"
                    raise QueryTimeout(
                        f"{what}: the query exceeded max_execution_time "
                        f"{self._timeout_text}s (query.max_execution_time) and was stopped"
                        + hint) from exc
                raise

    @contextmanager
    def session(self) -> Iterator[tuple[object, Tables]]:
        """``with service.session() as (client, tables):`` a pooled client and the resolved
        table names, for readers of the store beside the query API (the analyses), so that
        one pool, one ``TablesCache`` and the same limits serve them all (a query slot for
        searches and analyses, ``max_execution_time``, ``QueryTimeout``)."""
        with self._client("analysis") as client:
            yield client, self._tables.get(client)

    # ------------------------------------------------------------------ Reader
    def get_trace(self, trace_id: str):
        trace_id = validate_trace_id(trace_id)
        with self._client(f"reading trace {trace_id}", lookup=True) as client:
            return self._reader(client).get_trace(trace_id)

    def services(self) -> list[str]:
        with self._client("listing services", lookup=True) as client:
            return catalog.services(client, self._tables.get(client))

    def operations(self, service: str | None = None, span_kind: str | None = None) -> list[Operation]:
        with self._client("listing operations", lookup=True) as client:
            return catalog.operations(client, self._tables.get(client), service, span_kind)

    def search(self, query: SearchQuery) -> list[TraceSummary]:
        with self._client("search") as client:
            return search.search(client, self._tables.get(client), query)

    def find_traces(self, query: SearchQuery):
        with self._client("search") as client:
            tables = self._tables.get(client)
            found = search.search(client, tables, query)
            spans = self._reader(client).get_traces([s.trace_id for s in found])
            return [spans[s.trace_id] for s in found if s.trace_id in spans]

    def slowest(self, start_ns: int, end_ns: int, service: str | None = None,
                operation: str | None = None, attributes: tuple[AttributeFilter, ...] = (),
                limit: int = 20) -> list[TraceSummary]:
        with self._client("slowest traces") as client:
            return search.slowest(client, self._tables.get(client), start_ns, end_ns, service,
                                  operation, attributes, limit)

    def errors_by_service(self, start_ns: int, end_ns: int) -> list[ServiceErrors]:
        with self._client("errors by service") as client:
            return errors_by_service.errors_by_service(client, self._tables.get(client), start_ns, end_ns)

    def find_by_attribute(self, key: str, value: str, at_ns: int, window_ns: int,
                          limit: int = 20) -> list[TraceSummary]:
        with self._client("find by attribute") as client:
            return search.find_by_attribute(client, self._tables.get(client), key, value,
                                            at_ns, window_ns, limit)

    def dependencies(self, start_ns: int, end_ns: int) -> list[Dependency]:
        with self._client("dependencies") as client:
            return catalog.dependencies(client, self._tables.get(client), start_ns, end_ns)

    def close(self) -> None:
        """Closes the pool's clients."""
        self._trace_readers.clear()
        self._readers.close()
