"""What the analyses read the store through: ``AnalysisStore``.

The analyses (critical path and bottleneck, compare, the trace doctor) run inside the query
side: SQL where the data is big (``client``: a pooled clickhouse-connect client, with the
backquoted table names and fixed fragments of ``spanhouse.query.sqlutil.Tables``), Python
where a trace is in hand (``query.get_trace``). Every caller value reaches SQL as a bound
parameter (``spanhouse.query.sqlutil.run``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from spanhouse.query.service import QueryService
from spanhouse.query.sqlutil import Tables, TablesCache
from spanhouse.store.pool import Pool


class AnalysisStore:
    def __init__(self, readers: Pool, database: str, table: str,
                 query: QueryService | None = None, use_additions: bool = True):
        self.readers = readers
        self.query = query or QueryService(readers, database, table,
                                           use_additions=use_additions)
        # use_additions=False: the traces table only (the code path of an exporter-created one)
        self._tables = TablesCache(database, table, use_additions)

    @contextmanager
    def client(self) -> Iterator[tuple[object, Tables]]:
        """``with store.client() as (client, tables):`` a borrowed client and the table names
        (``tables.traces``, ``tables.id_ts``, ``tables.weight`` = AdjustedCount or 1, and
        ``tables.fragments`` for ``sqlutil.render``)."""
        with self.readers.borrow() as client:
            yield client, self._tables.get(client)
