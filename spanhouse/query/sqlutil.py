"""Shared pieces of the query service's SQL: templates, fixed fragments, validation, errors.

SQL lives in ``spanhouse/query/sql/*.sql`` (package data, loaded with ``importlib.resources``).
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
from functools import lru_cache
from importlib import resources
from string import Template

from spanhouse.errors import InvalidInput, StoreError
from spanhouse.query.model import MAX_LIMIT
from spanhouse.store.schema import ADDITIONS, quote_identifier, table_columns

INT64_MAX = 2 ** 63 - 1

# Status and kind spellings: the exporter's current ones and the proto names older releases wrote.
ERROR_CODES = ("Error", "STATUS_CODE_ERROR")
STATUS_SPELLINGS = {
    "error": ["Error", "STATUS_CODE_ERROR"],
    "ok": ["Ok", "STATUS_CODE_OK"],
    "unset": ["Unset", "STATUS_CODE_UNSET", ""],
}
KIND_SPELLINGS = {
    "server": ["Server", "SPAN_KIND_SERVER"],
    "client": ["Client", "SPAN_KIND_CLIENT"],
    "producer": ["Producer", "SPAN_KIND_PRODUCER"],
    "consumer": ["Consumer", "SPAN_KIND_CONSUMER"],
    "internal": ["Internal", "SPAN_KIND_INTERNAL"],
    "": ["Unspecified", "SPAN_KIND_UNSPECIFIED", ""],
}
JAEGER_KIND = {spelling: kind for kind, spellings in KIND_SPELLINGS.items() for spelling in spellings}

# Fixed fragments (constants only: formatted into templates as ${...}).
IS_ERROR = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')"
IS_ENTRY = ("(SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER') "
            "OR ParentSpanId = '')")
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


@lru_cache(maxsize=None)
def load_sql(name: str) -> str:
    """The text of ``spanhouse/query/sql/<name>`` (package data), comment lines removed."""
    text = resources.files("spanhouse.query").joinpath("sql", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def render(name: str, **fragments: str) -> str:
    """Template ``name`` with its ``${...}`` placeholders replaced (all must be given)."""
    return Template(load_sql(name)).substitute(**fragments)


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
