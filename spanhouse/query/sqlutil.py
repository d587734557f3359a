"""Shared pieces of the query service's SQL: templates, fixed fragments, validation, errors.

SQL lives in ``spanhouse/query/sql/*.sql`` (package data, loaded by ``spanhouse.sqlfiles``).
Templates use two kinds of placeholders, which never mix:

- ``${name}``: substituted here (``string.Template``) with validated, backquoted identifiers
  (``quote_identifier``) or with the fixed fragments of this module (never caller text);
- ``{name:Type}``: ClickHouse query parameters, bound by the server (``parameters=``): every
  value a caller gives (service names, attribute keys and values, regular expressions, times,
  limits, trace ids) reaches the store only this way.

Spanhouse's schema additions (``spanhouse.store.schema.ADDITIONS``: a per-trace summary, an
attribute index, the entry and error spans) are used when ``TablesCache`` finds them (table
and view both present, looked up once); on a table created by the collector's exporter they are
absent and every query runs on the traces table alone, with the same results.

Window: ``Timestamp`` is compared with ``fromUnixTimestamp64Nano({start:Int64})`` /
``({end:Int64})``; the bound is a constant expression, so partition pruning (``toDate``) and
the primary key's ``toDateTime(Timestamp)`` part both apply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial

from spanhouse import sqlfiles
from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.enums import (
    ERROR_SPELLINGS, LEGACY_SPAN_KINDS, SPAN_KIND_CODES, SPAN_KINDS, STATUS_CODE_CODES,
    STATUS_CODES, SpanKind, StatusCode,
)
from spanhouse.query.model import MAX_LIMIT
from spanhouse.store.schema import ADDITIONS, quote_identifier, table_columns

INT64_MAX = 2 ** 63 - 1

# Every stored spelling (spanhouse.model.enums: the exporter's current one and the proto name
# older releases wrote) per status filter value and per Jaeger span kind; an empty string is
# read as Unset / Unspecified too.
STATUS_SPELLINGS = {
    STATUS_CODES[code].lower(): [name for name, c in STATUS_CODE_CODES.items() if c == code]
    + ([""] if code == StatusCode.UNSET else [])
    for code in StatusCode
}
KIND_SPELLINGS = {
    ("" if kind == SpanKind.UNSPECIFIED else SPAN_KINDS[kind].lower()):
    [name for name, k in SPAN_KIND_CODES.items() if k == kind]
    + ([""] if kind == SpanKind.UNSPECIFIED else [])
    for kind in SpanKind
}
JAEGER_KIND = {spelling: kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}
# A service's requests: its spans of these kinds, and root spans.
ENTRY_KINDS = (SpanKind.SERVER, SpanKind.CONSUMER)


def _sql_strings(values) -> str:
    """Fixed spellings as a SQL list (constants of this module only, never caller text)."""
    return ", ".join(f"'{value}'" for value in values)


# Fixed fragments (constants only: formatted into templates as ${...}). The schema additions'
# views (spanhouse/store/sql/*_mv.sql) spell the same tests out, in this order
# (tests/store/test_schema_additions.py checks the text).
IS_ERROR = f"StatusCode IN ({_sql_strings(ERROR_SPELLINGS)})"
IS_ENTRY = ("(SpanKind IN ("
            + _sql_strings([SPAN_KINDS[k] for k in ENTRY_KINDS]
                           + [name for name, k in LEGACY_SPAN_KINDS.items() if k in ENTRY_KINDS])
            + ") OR ParentSpanId = '')")
WINDOW = ("Timestamp >= fromUnixTimestamp64Nano({start:Int64}) "
          "AND Timestamp <= fromUnixTimestamp64Nano({end:Int64})")
WEIGHT_COLUMN = "AdjustedCount"
WEIGHT_DEFAULT = "toFloat64(1)"   # a table created by the exporter has no AdjustedCount
# Longest key/value (bytes) the attribute index holds (spanhouse/store/sql/attributes_mv.sql).
MAX_INDEXED_BYTES = 256

PRESENT_SQL = ("SELECT name FROM system.tables "
               "WHERE database = {database:String} AND name IN {names:Array(String)}")

# ClickHouse error codes caused by a caller's value rather than by the store.
_CALLER_ERROR_CODES = ("Code: 427.",)  # CANNOT_COMPILE_REGEXP (a bad RE2 regular expression)


render = partial(sqlfiles.render, "spanhouse.query")
"""``render(name, **fragments)``: ``spanhouse/query/sql/<name>`` with its ``${...}`` placeholders
replaced (every one must be given), comment lines removed."""


@dataclass(frozen=True)
class Tables:
    """The backquoted names of the traces table and its lookup table, and the table's shape;
    the additions' names, or None when the store has not got them."""

    traces: str
    id_ts: str
    weight: str          # AdjustedCount, or a constant 1 when the table has no such column
    summary: str | None = None        # {table}_trace_summary
    attributes: str | None = None     # {table}_attributes
    entry_error: str | None = None    # {table}_entry_error_spans
    span_stats: str | None = None     # {table}_span_stats
    span_graph: str | None = None     # {table}_span_graph

    @property
    def fragments(self) -> dict[str, str]:
        out = {"traces": self.traces, "id_ts": self.id_ts, "weight": self.weight,
               "is_error": IS_ERROR, "is_entry": IS_ENTRY, "window": WINDOW}
        for name in ("summary", "attributes", "entry_error", "span_stats", "span_graph"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @property
    def roots(self) -> str:
        """``FROM`` text of the root spans of the window (``${window}`` unrendered): the
        entry/error spans table's (a time range of it holds only entry and error spans) when
        the store has it, else the traces table's."""
        if self.entry_error is not None:
            return f"{self.entry_error} PREWHERE {WINDOW} AND IsRoot = 1"
        return f"{self.traces} PREWHERE {WINDOW} AND ParentSpanId = ''"

    @property
    def error_spans(self) -> str:
        """``FROM`` text of the error spans of the window (``${window}`` unrendered): the
        entry/error spans table's ``IsError = 1`` range when the store has it, else the
        traces table's."""
        if self.entry_error is not None:
            return f"{self.entry_error} PREWHERE IsError = 1 AND {WINDOW}"
        return f"{self.traces} PREWHERE {WINDOW} AND {IS_ERROR}"

    def indexed(self, key: str, value: str) -> bool:
        """Whether the attribute index can answer ``key == value`` (it holds keys and values
        of at most ``MAX_INDEXED_BYTES``)."""
        return (self.attributes is not None and len(key.encode()) <= MAX_INDEXED_BYTES
                and len(value.encode()) <= MAX_INDEXED_BYTES)


class TablesCache:
    """Reads the table's columns and which additions exist once (lazily: the store may not be
    up at construction). ``use_additions=False`` ignores the additions (the code path of a
    table created by the collector's exporter)."""

    def __init__(self, database: str, table: str, use_additions: bool = True):
        db = quote_identifier(database, "database name")
        self._use_additions = use_additions
        self._traces = f"{db}.{quote_identifier(table, 'table name')}"
        self._id_ts = f"{db}.{quote_identifier(table + '_trace_id_ts', 'table name')}"
        self._database, self._table = database, table
        self._lock = threading.Lock()
        self._tables: Tables | None = None

    def get(self, client) -> Tables:
        tables = self._tables
        if tables is not None:
            return tables
        with self._lock:
            if self._tables is None:
                columns = table_columns(client, self._database, self._table)
                if not columns:
                    raise StoreError(f"table {self._database}.{self._table} does not exist")
                weight = WEIGHT_COLUMN if WEIGHT_COLUMN in columns else WEIGHT_DEFAULT
                self._tables = Tables(self._traces, self._id_ts, weight, **self._additions(client))
            return self._tables

    def _additions(self, client) -> dict[str, str | None]:
        """The additions whose table and view both exist (backquoted names), else None."""
        wanted = [self._table + suffix + end for suffix in ADDITIONS for end in ("", "_mv")]
        try:
            rows = client.query(PRESENT_SQL, parameters={
                "database": self._database, "names": wanted}).result_rows
        except Exception as exc:
            raise StoreError(f"cannot list the tables of {self._database}: {exc}") from exc
        present = {row[0] for row in rows} if self._use_additions else set()
        db = quote_identifier(self._database, "database name")
        out = {}
        for suffix, field in (("_trace_summary", "summary"), ("_attributes", "attributes"),
                              ("_entry_error_spans", "entry_error"),
                              ("_span_stats", "span_stats"), ("_span_graph", "span_graph")):
            name = self._table + suffix
            found = name in present and name + "_mv" in present
            out[field] = f"{db}.{quote_identifier(name, 'table name')}" if found else None
        return out


def run(client, sql: str, parameters: dict, what: str) -> list[tuple]:
    """Rows of ``sql``; driver errors become ``StoreError`` (or ``InvalidInput`` when the
    caller's value is to blame, e.g. a regular expression RE2 cannot compile)."""
    try:
        return client.query(sql, parameters=parameters).result_rows
    except Exception as exc:
        text = str(exc)
        if any(code in text for code in _CALLER_ERROR_CODES):
            raise InvalidInput(f"{what}: {text.splitlines()[0][:300]}") from exc
        raise StoreError(f"{what} failed: {text[:500]}") from exc


# ----------------------------------------------------------------------------- validation
def check_ns(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise InvalidInput(f"{what} must be a whole number of nanoseconds >= 0, not {value!r}")
    return value


def check_window(start_ns, end_ns) -> tuple[int, int]:
    start, end = check_ns(start_ns, "start"), check_ns(end_ns, "end")
    if start > end:
        raise InvalidInput(f"start ({start}) is after end ({end})")
    return start, end


def check_limit(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


def check_text(value, what: str, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {type(value).__name__}")
    if not empty and not value:
        raise InvalidInput(f"{what} must not be empty")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value
