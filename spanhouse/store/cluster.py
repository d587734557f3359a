"""The cluster form of the schema (the ``clickhouse`` exporter's ``cluster_name``).

The collector's exporter only appends ``ON CLUSTER <name>`` to its DDL. Spanhouse goes one
step further, so that a cluster of several shards answers the same queries as one server:

- every object is created ``ON CLUSTER`` (quoted identifier);
- each table (the traces table, the trace-id lookup and Spanhouse's additions) is created as
  a **local** table, ``<name>_local``, with the configured engine (``ReplicatedMergeTree`` ...);
  an addition whose own engine is ``AggregatingMergeTree`` / ``SummingMergeTree`` gets the same
  family prefix (``ReplicatedAggregatingMergeTree(<params>)``) so it is replicated as well;
- a ``Distributed`` table with the name readers and the writer use today (``otel_traces``,
  ``otel_traces_trace_summary`` ...) is created over each local table, sharded by
  ``cityHash64(TraceId)``: all of one trace's rows, and every row the views derive from them,
  live on one shard, so per-trace aggregates and joins stay shard-local;
- the materialized views keep their names (``*_mv``; readers check that an addition's view
  exists) and are created on the **local** traces table, writing to the local targets: an
  INSERT into the Distributed ``otel_traces`` lands on a shard and the views fire there.

This module rewrites the statements ``spanhouse.store.schema.render_schema`` rendered (with the
local names already in place); it imports nothing of ``schema`` so that ``schema`` can call it.
"""

from __future__ import annotations

import re

from spanhouse.errors import ConfigError

LOCAL_SUFFIX = "_local"
VIEW_SUFFIX = "_mv"

# A cluster's name as ClickHouse's <remote_servers> section spells it (XML element names may
# hold '-'); backquoted in ON CLUSTER and single-quoted in Distributed(), so nothing else.
CLUSTER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# The MergeTree family's prefixes: plain, Replicated (Keeper), Shared (ClickHouse Cloud).
PREFIXES = ("", "Replicated", "Shared")
BASES = ("MergeTree", "ReplacingMergeTree", "SummingMergeTree", "AggregatingMergeTree",
         "CollapsingMergeTree", "VersionedCollapsingMergeTree")
ENGINE_NAMES = tuple(prefix + base for prefix in PREFIXES for base in BASES)
# On a cluster the traces table must keep every span it is given (a Replacing/Summing engine
# would merge spans away), so only the plain MergeTree of each family.
CLUSTER_ENGINE_NAMES = tuple(prefix + "MergeTree" for prefix in PREFIXES)

SHARDING_KEY = "cityHash64(TraceId)"
# The span stats have no trace id. Nothing inserts into their Distributed table (the view
# fills the local one on the shard that got the spans); a key is still needed by Distributed
# on a multi-shard cluster, and readers always sum, so any shard is right.
NO_TRACE_SHARDING_KEY = "rand()"

# What a cluster INSERT needs (docs/storage.md, "A ClickHouse cluster"):
# - the Distributed table sends each shard its rows before the INSERT returns (else it queues
#   them on local disk and "acknowledged" would not mean "stored"), with the query's settings,
#   the write-ahead log's insert_deduplication_token included; each shard's Replicated table
#   then drops a replayed block. (``insert_distributed_sync`` is the older name of
#   ``distributed_foreground_insert``, and still its alias: servers of either age know it.)
# - the views' targets deduplicate a replayed block themselves, so a retry after a failure
#   between the traces table and a view fills the view's table once.
CLUSTER_INSERT_SETTINGS = {
    "insert_distributed_sync": 1,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
}
# Reads through the Distributed tables: an IN / JOIN whose both sides are Distributed runs on
# each shard against the shard's local tables ("local": every such subquery of Spanhouse's
# pairs rows of one trace, which live on one shard; the default "deny" refuses them), and a
# GROUP BY over the sharding key (TraceId) is finished on the shards. The two doctor queries
# that pair rows of different traces say GLOBAL themselves, which this mode leaves alone.
CLUSTER_READ_SETTINGS = {
    "distributed_product_mode": "local",
    "optimize_distributed_group_by_sharding_key": 1,
}
# async_insert: acknowledged must still mean stored, so the INSERT waits for the flush.
ASYNC_INSERT_SETTINGS = {"async_insert": 1, "wait_for_async_insert": 1}
# Async inserts deduplicate only on Replicated tables and when asked.
ASYNC_REPLICATED_SETTINGS = {"async_insert_deduplicate": 1}
# An INSERT carrying the write-ahead log's deduplication token is never an async one: async
# inserts deduplicate on Replicated tables only, and a flush coalescing several tokens has
# registered a token in partitions it wrote nothing to (ClickHouse issue #111031: a later
# insert with that token silently dropped). The log's chunks are large already.
TOKEN_INSERT_SETTINGS = {"async_insert": 0}

_CREATE = re.compile(
    r"^(CREATE (?:DATABASE|TABLE|MATERIALIZED VIEW) IF NOT EXISTS (?:`[^`]+`\.)?`[^`]+`)")
_CREATE_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS `([^`]+)`\.`([^`]+)`")
# An addition's own engine: a bare family name at the end of its line (no parameters).
_FIXED_ENGINE = re.compile(r"^\) ENGINE = ([A-Za-z]*MergeTree)$", re.M)
_ENGINE_CALL = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\((.*)\)$", re.S)
_TRACE_ID_COLUMN = re.compile(r"^\s*TraceId\s", re.M)


def check_cluster_name(name: str) -> str:
    """``name`` if it can name a cluster, else ``ConfigError``."""
    if not isinstance(name, str) or not CLUSTER_NAME.fullmatch(name):
        raise ConfigError(f"invalid cluster name {name!r}: use letters, digits, '_' and '-', "
                          "not starting with a digit or '-'")
    return name


def on_cluster_clause(cluster: str) -> str:
    return f"ON CLUSTER `{check_cluster_name(cluster)}`"


def local_name(table: str, suffix: str = "") -> str:
    """The object a cluster schema creates for the traces ``table``'s object ``suffix``
    (``""``, ``"_trace_summary"``, ``"_trace_summary_mv"`` ...): ``<name>_local`` for a table,
    the same name for a view (readers look views up by their usual names)."""
    return table + suffix + ("" if suffix.endswith(VIEW_SUFFIX) else LOCAL_SUFFIX)


def split_engine(engine: str) -> tuple[str, str]:
    """``("ReplicatedMergeTree", "'/p/{table}', '{replica}'")`` of an engine string."""
    match = _ENGINE_CALL.fullmatch(engine.strip())
    if not match:  # a bare name, as the additions' files write theirs
        return engine.strip(), ""
    return match.group(1), match.group(2).strip()


def check_cluster_engine(engine: str) -> tuple[str, str]:
    """(family prefix, parameters) of the configured engine when it is used on a cluster."""
    name, params = split_engine(engine)
    if name not in CLUSTER_ENGINE_NAMES:
        raise ConfigError(f"table engine {name!r} cannot hold the traces table on a cluster: "
                          f"use one of {', '.join(CLUSTER_ENGINE_NAMES)}")
    path = params.split(",", 1)[0].strip()
    # One Keeper path per table: a fixed path would make the second table's CREATE collide
    # with the first's replica ("Replica already exists").
    if name.startswith("Replicated") and path.startswith("'") and not (
            "{table}" in path or "{uuid}" in path):
        raise ConfigError(f"table engine parameters {params!r}: the Keeper path must contain "
                          "{table} or {uuid}, e.g. '/clickhouse/tables/{shard}/{database}/{table}', "
                          "because Spanhouse creates several replicated tables")
    return name[:-len("MergeTree")], params


def _family_engine(base: str, prefix: str, params: str) -> str:
    """``base`` (an addition's own engine) in the configured engine's family."""
    if not prefix:
        return base
    return f"{prefix}{base}({params})"


def on_cluster(statements: list[str], cluster: str, engine: str) -> list[str]:
    """The cluster form of the rendered schema ``statements`` (tables already named
    ``*_local``): ``ON CLUSTER`` everywhere, the additions' engines in the configured family,
    and after each local table the ``Distributed`` table readers use."""
    clause = on_cluster_clause(cluster)
    prefix, params = check_cluster_engine(engine)
    out = []
    for sql in statements:
        head = _CREATE.match(sql)
        if not head:
            raise ValueError(f"not a CREATE statement: {sql[:60]!r}")
        sql = f"{head.group(1)} {clause}{sql[head.end():]}"
        # Only an addition's bare base name (a configured engine was rendered with its own
        # name and parameters and stays as it is).
        sql = _FIXED_ENGINE.sub(
            lambda m: f") ENGINE = {_family_engine(m.group(1), prefix, params)}"
            if m.group(1) in BASES else m.group(0), sql)
        out.append(sql)
        table = _CREATE_TABLE.match(sql)
        if table:
            out.append(distributed_table(table.group(1), table.group(2), cluster,
                                         bool(_TRACE_ID_COLUMN.search(sql))))
    return out


def distributed_table(database: str, local: str, cluster: str, has_trace_id: bool) -> str:
    """The ``Distributed`` table over ``database.local`` (a ``*_local`` name), under the name
    without the suffix."""
    if not local.endswith(LOCAL_SUFFIX):
        raise ValueError(f"{local!r} is not a local table name")
    name = local[:-len(LOCAL_SUFFIX)]
    key = SHARDING_KEY if has_trace_id else NO_TRACE_SHARDING_KEY
    return (f"CREATE TABLE IF NOT EXISTS `{database}`.`{name}` {on_cluster_clause(cluster)} "
            f"AS `{database}`.`{local}`\n"
            f"ENGINE = Distributed('{cluster}', '{database}', '{local}', {key})")


def insert_settings(cluster: str = "", async_insert: bool = False,
                    replicated: bool = False) -> dict:
    """The ClickHouse settings of the store's INSERTs on a server (none for embedded chDB):
    ``cluster`` adds the synchronous Distributed insert, ``async_insert`` the server-side
    batching that still waits for the flush (deduplicating only on ``replicated`` tables)."""
    settings: dict = {}
    if cluster:
        settings.update(CLUSTER_INSERT_SETTINGS)
    if async_insert:
        settings.update(ASYNC_INSERT_SETTINGS)
        if replicated:
            settings.update(ASYNC_REPLICATED_SETTINGS)
    return settings


def token_insert_settings(token: str) -> dict:
    """The settings of one INSERT that carries the write-ahead log's deduplication ``token``
    (exactly once): the token, and a synchronous insert whatever the client's default."""
    return {"insert_deduplication_token": token, **TOKEN_INSERT_SETTINGS}
