"""Create the traces schema: the OTel Collector ClickHouse exporter's three objects.

``create_schema`` runs, in the exporter's order, ``CREATE DATABASE IF NOT EXISTS`` and the three
DDL files of ``spanhouse/store/sql/`` (package data):

1. ``traces_table.sql``      - ``{database}.{table}``: the exporter's columns plus Spanhouse's extras;
2. ``trace_id_ts_table.sql`` - ``{database}.{table}_trace_id_ts``: trace id -> time range lookup;
3. ``trace_id_ts_mv.sql``    - ``{database}.{table}_trace_id_ts_mv``: the view that fills it.

Every statement is ``IF NOT EXISTS``, so creating twice is harmless and a table that the
collector's exporter already created is left as it is (readers and the writer adapt to its
columns). Placeholders are ``{database}``, ``{table}``, ``{engine}`` and ``{ttl}``; identifiers are
validated and backquoted, never taken verbatim from configuration. (The short forms
``{traces}``, ``{id_ts}`` and ``{id_ts_mv}`` name the three objects too.)

Spanhouse's additions (``ADDITION_FILES``, each a table and the materialized view that fills it
from every insert into ``{table}``; the exporter's three objects are left exactly as they are):

4. ``trace_summary_*.sql``     - ``{table}_trace_summary``: one aggregate row per trace (start,
   end, root service/operation/duration/weight, span and error counts, services), keyed by
   ``TraceId`` (search's step 2);
5. ``attributes_*.sql``        - ``{table}_attributes``: (key, value, time, trace id) of every span
   and resource attribute, ordered by ``(Key, Value, Timestamp)`` (equality lookups);
6. ``entry_error_spans_*.sql`` - ``{table}_entry_error_spans``: entry and error spans only, with
   small columns (``errors_by_service``, and search's scan of root spans);
7. ``span_stats_*.sql``        - ``{table}_span_stats``: span counts per minute, service, span
   name, sampling policy and entry spans' ``*.id`` keys (the trace doctor's counting checks);
8. ``span_graph_*.sql``        - ``{table}_span_graph``: every span's id, parent and link hashes,
   kind, callee and destination, in time order (the trace doctor's relation checks).

Their engines are fixed (AggregatingMergeTree for the summary, SummingMergeTree for the span
stats, MergeTree for the others), not ``{engine}``; each DDL file explains its ORDER BY and
settings.

The additions are created **only together with a new traces table**: a view fills its table
from the inserts that follow its creation, so one added next to a table that already holds
spans (e.g. one the collector's exporter created) would be incomplete and give wrong answers.
Readers use an addition only when both its table and its view exist
(``spanhouse.query.sqlutil.TablesCache``), and fall back to the traces table otherwise. (When a
Spanhouse-created table already exists, e.g. on restart, its additions exist too.)

With the exporter's ``cluster_name`` the same statements are rendered in their cluster form by
``spanhouse.store.cluster``: every object ON CLUSTER, each table as ``<name>_local`` with a
``Distributed`` table under its usual name, sharded by trace id, and the views on the local
tables (docs/storage.md, "A ClickHouse cluster").
"""

from __future__ import annotations

import re

from spanhouse.errors import ConfigError, StoreError
from spanhouse.sqlfiles import read_sql
from spanhouse.store.cluster import local_name, on_cluster, on_cluster_clause

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

SQL_PACKAGE = "spanhouse.store"   # the DDL files: spanhouse/store/sql/*.sql

# Executed in this order (the view needs both tables).
DDL_FILES = ("traces_table.sql", "trace_id_ts_table.sql", "trace_id_ts_mv.sql")

# Spanhouse's additions: table suffix -> (table DDL, view DDL, the column its TTL is on).
ADDITIONS = {
    "_trace_summary": ("trace_summary_table.sql", "trace_summary_mv.sql", "Start"),
    "_attributes": ("attributes_table.sql", "attributes_mv.sql", "Timestamp"),
    "_entry_error_spans": ("entry_error_spans_table.sql", "entry_error_spans_mv.sql", "Timestamp"),
    "_span_stats": ("span_stats_table.sql", "span_stats_mv.sql", "Minute"),
    "_span_graph": ("span_graph_table.sql", "span_graph_mv.sql", "Timestamp"),
}
ADDITION_FILES = tuple(f for table, view, _ in ADDITIONS.values() for f in (table, view))
_TTL_COLUMN = {"trace_id_ts_table.sql": "Start",
               **{table: column for table, _, column in ADDITIONS.values()}}

# The engines the exporter's ``table_engine`` option can name (with optional parameters).
_ENGINE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\([A-Za-z0-9_'{}/., -]*\))?$")

TABLE_COLUMNS_SQL = (
    "SELECT name FROM system.columns "
    "WHERE database = {database:String} AND table = {table:String}"
)


def quote_identifier(name: str, what: str = "identifier") -> str:
    """Validate ``name`` as a plain SQL identifier and return it backquoted."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ConfigError(
            f"invalid {what} {name!r}: use letters, digits and '_' only, not starting with a digit")
    return f"`{name}`"


def ttl_clause(column: str, ttl_days: int) -> str:
    """The exporter's TTL expression, e.g. ``TTL toDateTime(Timestamp) + toIntervalDay(7)``;
    empty when ``ttl_days`` is 0 (keep forever)."""
    if isinstance(ttl_days, bool) or not isinstance(ttl_days, int) or ttl_days < 0:
        raise ConfigError(f"invalid ttl_days {ttl_days!r}: expected a whole number of days >= 0")
    if ttl_days == 0:
        return ""
    return f"TTL toDateTime({column}) + toIntervalDay({ttl_days})"


def render_schema(database: str, table: str, ttl_days: int = 0,
                  engine: str = "MergeTree()", cluster: str = "",
                  additions: bool = True) -> list[str]:
    """The statements ``create_schema`` runs, rendered (for tests and ``--dry-run`` output).
    With ``cluster``, the cluster form (``spanhouse.store.cluster``: local tables ON CLUSTER,
    Distributed tables under the usual names); without ``additions``, the exporter's objects
    only."""
    db = quote_identifier(database, "database name")
    quote_identifier(table, "table name")  # validates; the suffixed names are quoted below
    if not isinstance(engine, str) or not _ENGINE.fullmatch(engine):
        raise ConfigError(f"invalid table engine {engine!r}: expected e.g. MergeTree()")
    # On a cluster the tables are the shards' local ones; the Distributed tables come later.
    obj = local_name if cluster else (lambda table, suffix="": table + suffix)
    statements = [f"CREATE DATABASE IF NOT EXISTS {db}"]
    for name in DDL_FILES + (ADDITION_FILES if additions else ()):
        ttl_column = _TTL_COLUMN.get(name, "Timestamp")
        sql = read_sql(SQL_PACKAGE, name)
        # Quote every "{database}.{table}..." reference as `db`.`table_suffix`.
        sql = re.sub(r"\{database\}\.\{table\}([A-Za-z0-9_]*)",
                     lambda m: f"{db}.`{obj(table, m.group(1))}`", sql)
        names = {
            "{span_graph_columns}": span_graph_columns(),
            "{traces}": f"{db}.`{obj(table)}`",
            "{id_ts}": f"{db}.`{obj(table, '_trace_id_ts')}`",
            "{id_ts_mv}": f"{db}.`{obj(table, '_trace_id_ts_mv')}`",
            "{engine}": engine,
            "{ttl}": ttl_clause(ttl_column, ttl_days),
        }
        sql = re.sub(r"\{(traces|id_ts|id_ts_mv|engine|ttl|span_graph_columns)\}",
                     lambda m: names[m.group(0)], sql)
        statements.append(_strip_comments(sql))
    return on_cluster(statements, cluster, engine) if cluster else statements


def span_graph_columns() -> str:
    """The relation columns of the span graph addition as a select list over a span of the
    traces table (``span_graph_columns.sql``): the view fills the addition with them, and the
    trace doctor computes them from the traces table when a store has not got it."""
    return _strip_comments(read_sql(SQL_PACKAGE, "span_graph_columns.sql"))


def _strip_comments(sql: str) -> str:
    """``sql`` without its comments, end-of-line ones too (the traces table's DDL marks
    Spanhouse's columns with ``-- spanhouse``), and without blank lines."""
    lines = []
    for line in sql.splitlines():
        code = line.split("--", 1)[0].rstrip()
        if code:
            lines.append(code)
    return "\n".join(lines)


def create_schema(client, database: str, table: str, ttl_days: int = 0,
                  engine: str = "MergeTree()", cluster: str = "") -> None:
    """Create the database, the traces table, the trace-id lookup table and its materialized
    view, if they do not exist, and Spanhouse's additions when the traces table is new (see
    the module docstring); with ``cluster``, their cluster form (``spanhouse.store.cluster``).
    Raises ``ConfigError`` for a bad name, ``StoreError`` when ClickHouse refuses a
    statement."""
    statements = render_schema(database, table, ttl_days, engine, cluster)  # validates first
    if table_columns(client, database, table):   # an existing table: no additions
        statements = render_schema(database, table, ttl_days, engine, cluster, additions=False)
    for statement in statements:
        try:
            client.command(statement)
        except Exception as exc:  # driver errors -> our typed error
            first = statement.strip().splitlines()[0]
            raise StoreError(f"cannot create the schema ({first} ...): {exc}") from exc


def table_columns(client, database: str, table: str) -> set[str]:
    """Names of the columns of ``database.table`` (Nested subcolumns as ``Events.Name``); an
    empty set when the table does not exist."""
    try:
        result = client.query(TABLE_COLUMNS_SQL, parameters={"database": database, "table": table})
    except Exception as exc:
        raise StoreError(f"cannot read the columns of {database}.{table}: {exc}") from exc
    return {row[0] for row in result.result_rows}


# Inserts repeated after a crash carry the same ``insert_deduplication_token`` (see
# spanhouse.wal.feeder); a non-replicated MergeTree drops a repeat only when it keeps a window of
# recent block hashes. Every table an insert reaches needs it, the views' targets too, or a
# replayed chunk would be dropped from the traces table but counted twice in an addition.
DEDUPLICATION_WINDOW = 1000
_MERGE_TREE_TABLES_SQL = (
    "SELECT name FROM system.tables WHERE database = {database:String} "
    "AND (name = {table:String} OR startsWith(name, {prefix:String})) "
    "AND engine LIKE '%MergeTree' AND engine NOT LIKE 'Replicated%'"
)


def enable_deduplication(client, database: str, table: str,
                         window: int = DEDUPLICATION_WINDOW, cluster: str = "") -> list[str]:
    """Set ``non_replicated_deduplication_window`` on the traces table and every table its
    views fill (a table the collector's exporter created too: the setting changes no data),
    on every node of ``cluster`` when given (its ``*_local`` tables).
    Replicated tables deduplicate by default and are left alone. Returns the tables changed;
    raises ``StoreError`` when ClickHouse refuses."""
    db = quote_identifier(database, "database name")
    quote_identifier(table, "table name")
    where = f" {on_cluster_clause(cluster)}" if cluster else ""
    try:
        names = [row[0] for row in client.query(_MERGE_TREE_TABLES_SQL, parameters={
            "database": database, "table": table, "prefix": table + "_"}).result_rows]
        for name in names:
            client.command(f"ALTER TABLE {db}.{quote_identifier(name, 'table name')}{where} "
                           f"MODIFY SETTING non_replicated_deduplication_window = {int(window)}")
    except Exception as exc:
        raise StoreError(f"cannot enable insert deduplication on {database}.{table}: {exc}") from exc
    return names
