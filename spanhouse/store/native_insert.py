"""The fast ingest path: ClickHouse parses OTLP protobuf itself.

``NativeProtobufInserter`` hands the bytes of ``ExportTraceServiceRequest`` messages straight to
ClickHouse. Its ``Protobuf`` input format parses them with the OTLP schema of
``otlp_traces.proto`` (passed as a setting, ``format_schema_source = 'string'``), and ONE
``INSERT INTO {table} SELECT ... ARRAY JOIN resource_spans -> scope_spans -> spans`` turns them
into the rows of the traces table. No Python object is made per span or attribute.

Contract (the same rows as the Python path):

- For every span, the row is IDENTICAL, column for column, to the one that
  ``TraceWriter.write(decode_proto_bytes(message).batch)`` writes (only the columns the table has;
  ``AdjustedCount`` 1.0 and ``SamplingPolicy`` ''): lowercase hex ids, an all-zero parent id as
  '', the exporter's span kind and status code names (an unknown enum value as the 0 entry),
  ``Duration = max(end - start, 0)``, ``ServiceName`` from the resource's first ``service.name``
  attribute (its string value), attribute strings as ``spanhouse.model.attributes`` writes them
  (double as Go's ``AsString``, arrays and kvlists as compact JSON with sorted keys, bytes as
  base64), ``*AttributeTypes`` with the non-string entries only; and the spans the Python
  decoder rejects left out: trace id not 16 bytes or all zero, span id not 8 bytes or all
  zero, parent id neither empty nor 8 bytes, a start, end or event time not before
  ``MAX_TIME_NS`` (``spanhouse.model.limits``). ``tests/store/test_native_insert.py`` checks
  this on crafted requests and on thousands of random and mutated ones.
- What the SQL cannot match, the Python path must take: an attribute nested deeper than one
  level (an array or kvlist inside an array or kvlist). ``native_compatible`` tells, cheaply
  (in C, no Python per span); ``split_native`` sorts a list of requests. As a safety net the
  INSERT itself fails with ``NativeIncompatible`` when it meets one (``throwIf`` where the JSON
  would be written) before any row is written: an INSERT SELECT squashes its rows into blocks
  of ``min_insert_block_size_rows`` (1M) / ``min_insert_block_size_bytes`` (256 MiB) before
  the first write, so below those (always, at our batch sizes) nothing is stored. A caller
  that skipped the check then sends that batch through the Python path.
- The input bytes are not validated the way the Python parser validates them (ClickHouse stores
  a string field that is not UTF-8 as it is; ``ExportTraceServiceRequest.ParseFromString``
  refuses the request): pass only requests that parsed (about 0.7 us per span, in C). Bytes
  that do not parse at all fail the whole INSERT (``StoreError``, ClickHouse code 444).
- ``insert_*`` return once ClickHouse has acknowledged the INSERT; on failure they raise
  ``NativeIncompatible`` (nothing written, use the Python path) or ``StoreError`` (retryable;
  assume any part may have been written, retry with the same ``token``). Not idempotent unless a
  ``token`` is given (``insert_deduplication_token``; the table needs deduplication on, e.g.
  ``non_replicated_deduplication_window`` for a plain MergeTree).
- One statement costs ClickHouse ~110 ms of planning (chDB 26.9, this statement; the
  materialized views add ~30 ms, as for any INSERT) whatever its size: use it for >= 10k spans
  per INSERT (10+ requests of 1000 spans), the Python path for small batches.
- An inserter is thread-confined like ``TraceWriter``.

How the bytes reach ClickHouse:

- embedded chDB (``chdb://``): written to a temporary file and read with
  ``file('/abs/path', 'Protobuf', '<structure>')`` (``insert_file`` reads a file already there);
- a ClickHouse server (``http(s)://``): the HTTP request body of
  ``INSERT ... SELECT ... FROM input('<structure>') FORMAT Protobuf`` (``client.command`` with
  ``data=``). The server needs ``format_schema_source`` (ClickHouse 25.x or later).

The payload is ClickHouse's ``Protobuf`` format: length-delimited messages (a varint length,
then the message: protobuf's ``writeDelimited``); ``encode_delimited`` builds it.

The parts: ``native_probe`` (``native_compatible``, ``split_native``), ``native_sql`` (the
input structure, the column expressions and the statement, from ``sql/native_insert.sql`` and
``sql/native_functions.sql``), and this module, which runs the statement.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from importlib import resources

from google.protobuf.internal.encoder import _VarintBytes

from spanhouse.errors import ConfigError, StoreError
from spanhouse.store.native_probe import native_compatible, split_native
from spanhouse.store.native_sql import (
    COLUMN_EXPRESSIONS, INCOMPATIBLE_MARKER, INPUT_STRUCTURE, PROTO_FILE, render_insert,
    sql_functions, string_literal,
)
from spanhouse.store.schema import quote_identifier, table_columns

__all__ = [
    "PROTO_FILE", "NativeIncompatible", "NativeProtobufInserter", "encode_delimited",
    "native_compatible", "split_native", "sql_functions",
]

_GLOB = re.compile(r"[*?{}\[\]]")


class NativeIncompatible(StoreError):
    """The INSERT refused a batch that holds a request the SQL cannot match (see
    ``native_compatible``); nothing was written. Send that batch through the Python path."""


def encode_delimited(messages: Iterable[bytes]) -> bytes:
    """Serialized messages -> one payload of length-delimited messages (ClickHouse's
    ``Protobuf`` format, protobuf's ``writeDelimited``)."""
    parts = []
    for message in messages:
        parts.append(_VarintBytes(len(message)))
        parts.append(message)
    return b"".join(parts)


def _is_chdb(client) -> bool:
    return str(getattr(client, "uri", "")).startswith("chdb:") or type(client).__name__ == "ChdbClient"


class NativeProtobufInserter:
    """Inserts length-delimited ``ExportTraceServiceRequest`` messages into
    ``database.table`` with ClickHouse's own protobuf parser (see the module docstring for the
    contract). ``columns``: the table's column names (e.g. ``TraceWriter.columns``); None reads
    them. Only the columns the table has are written, as ``TraceWriter`` does."""

    def __init__(self, client, database: str, table: str, columns: Iterable[str] | None = None,
                 *, tmp_dir: str | None = None):
        self._client = client
        self._target = f"{quote_identifier(database, 'database name')}.{quote_identifier(table, 'table name')}"
        have = set(columns) if columns is not None else table_columns(client, database, table)
        if not have:
            raise StoreError(f"table {database}.{table} does not exist (is create_schema off?)")
        self._columns = [name for name in COLUMN_EXPRESSIONS if name in have]
        self._embedded = _is_chdb(client)
        self._tmp_dir = tmp_dir

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def statement(self, source: str, token: str | None = None, fmt: str = "") -> str:
        schema_file = None
        if self._embedded:
            schema_file = str(resources.files("spanhouse.store").joinpath(PROTO_FILE))
            if _GLOB.search(schema_file) or "'" in schema_file:
                schema_file = None
        return render_insert(self._target, self._columns, source, token, fmt, schema_file)

    def insert_messages(self, messages: Iterable[bytes], token: str | None = None) -> None:
        """Insert serialized ``ExportTraceServiceRequest`` messages (one INSERT)."""
        self.insert_bytes(encode_delimited(messages), token)

    def insert_bytes(self, payload: bytes, token: str | None = None) -> None:
        """Insert a payload of length-delimited ``ExportTraceServiceRequest`` messages."""
        if not payload:
            return
        if not self._embedded:
            source = f"input({string_literal(INPUT_STRUCTURE)})"
            sql = self.statement(source, token, "\nFORMAT Protobuf")
            self._run(sql, data=bytes(payload))
            return
        fd, path = tempfile.mkstemp(prefix="spanhouse-otlp-", suffix=".pb", dir=self._tmp_dir)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
            self.insert_file(path, token)
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def insert_file(self, path: str, token: str | None = None) -> None:
        """Insert the length-delimited messages of a file. Embedded chDB reads the file itself;
        for a server its bytes are sent as the request body."""
        if not self._embedded:
            with open(path, "rb") as file:
                self.insert_bytes(file.read(), token)
            return
        path = os.path.abspath(path)
        if _GLOB.search(path):  # file() would expand these as a glob
            raise ConfigError(f"cannot read {path!r} with file(): it has glob characters")
        source = f"file({string_literal(path)}, 'Protobuf', {string_literal(INPUT_STRUCTURE)})"
        self._run(self.statement(source, token))

    def _run(self, sql: str, data: bytes | None = None) -> None:
        try:
            if data is None:
                self._client.command(sql)
            else:
                self._client.command(sql, data=data)
        except Exception as exc:  # driver errors -> our typed errors
            if INCOMPATIBLE_MARKER in str(exc):
                raise NativeIncompatible(
                    f"insert into {self._target} refused: a request nests attributes deeper "
                    "than one level; use the Python path") from exc
            raise StoreError(f"native protobuf insert into {self._target} failed: {exc}") from exc
