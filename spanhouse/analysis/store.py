"""What the analyses read the store through: the ``AnalysisReader`` protocol, and
``AnalysisStore``, its implementation over the query service.

The analyses (critical path and bottleneck, compare, the trace doctor) run inside the query
side: SQL where the data is big (``rows``, over the backquoted table names and fixed fragments
of ``tables()``), Python where a trace is in hand (``get_trace``). They never hold a client:
``AnalysisStore`` borrows one from the ``QueryService``'s pool for each call
(``QueryService.session()``), so the query API and the analyses share one pool and one
``TablesCache``, and the query service's limits hold for the analyses too: a query slot per
call, ``max_execution_time`` on every read (``QueryTimeout``, or ``QueryBusy`` when no slot is
free). Every caller value reaches SQL as a bound parameter.
"""

from __future__ import annotations

from typing import Mapping, Protocol

from spanhouse.model.span import SpanRecord
from spanhouse.query.service import QueryService
from spanhouse.query.sqlutil import Tables, run
from spanhouse.store.pool import Pool


class AnalysisReader(Protocol):
    """The store as an analysis sees it. Methods are synchronous and thread-safe."""

    def tables(self) -> Tables:
        """The resolved names of the traces table, its lookup table and the schema additions
        the store has (``Tables``; ``Tables.fragments`` for the ``${...}`` of a template).
        MUST be resolved once and then returned unchanged; MUST raise ``StoreError`` when the
        store cannot be read or the traces table does not exist."""

    def rows(self, sql: str, parameters: Mapping[str, object], what: str) -> list[tuple]:
        """The result rows of ``sql``, whose ``{name:Type}`` placeholders MUST be bound
        server-side from ``parameters`` (never formatted into the text). A failure MUST raise
        ``InvalidInput`` when a caller's value is to blame (e.g. a regular expression RE2
        cannot compile), else ``StoreError``; ``what`` names the query in the message."""

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        """Every stored span of the trace, ordered by start time; [] when none. MUST raise
        ``InvalidInput`` for a malformed id and ``StoreError`` when the store fails."""


class AnalysisStore:
    """``AnalysisReader`` over a ``QueryService``: the given one (the server's, so the query
    API and the analyses share its pool and table lookup), else one built over ``readers``
    (``use_additions=False``: the traces table only, the code path of a table the collector's
    exporter created; it applies only to a service built here)."""

    def __init__(self, readers: Pool, database: str, table: str,
                 query: QueryService | None = None, use_additions: bool = True):
        self.query = query or QueryService(readers, database, table,
                                           use_additions=use_additions)

    def tables(self) -> Tables:
        with self.query.session() as (_client, tables):
            return tables

    def rows(self, sql: str, parameters: Mapping[str, object], what: str) -> list[tuple]:
        with self.query.session() as (client, _tables):
            return run(client, sql, dict(parameters), what)

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        return self.query.get_trace(trace_id)
