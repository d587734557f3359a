"""The cluster form of the schema (``cluster_name``, spanhouse.store.cluster): every table and view
of the one-server schema is generated ON CLUSTER, each table as a local table in the configured
engine's family with a Distributed table over it under the usual name, sharded by trace id; every
statement is checked by ClickHouse's own parser (``formatQuery`` in chDB); and the local tables
and views, run on chDB (which has no cluster: without ``ON CLUSTER`` and the Distributed tables),
fill exactly what the one-server schema fills."""

from __future__ import annotations

import re

import pytest

from spanhouse.errors import ConfigError, StoreError
from spanhouse.store.cluster import (
    ASYNC_INSERT_SETTINGS, ASYNC_REPLICATED_SETTINGS, CLUSTER_INSERT_SETTINGS,
    CLUSTER_READ_SETTINGS, LOCAL_SUFFIX, SHARDING_KEY, check_cluster_engine, insert_settings,
    token_insert_settings,
)
from spanhouse.store.connection import open_client
from spanhouse.store.schema import ADDITIONS, create_schema, enable_deduplication, render_schema
from spanhouse.store.writer import TraceWriter

from tests.store.batches import full_batch

CLUSTER = "spans-cluster"
PARAMS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
ENGINE = f"ReplicatedMergeTree({PARAMS})"
# The additions' own engines (their .sql files), and the Replicated variant each must get.
OWN_ENGINE = {"_trace_summary": "AggregatingMergeTree", "_span_stats": "SummingMergeTree"}

_NAME = re.compile(r"^CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS `db`\.`([^`]+)`")


def objects(statements) -> dict[str, str]:
    """name -> "TABLE" / "MATERIALIZED VIEW" of the CREATE statements."""
    found = {}
    for sql in statements:
        match = _NAME.match(sql)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def by_name(statements) -> dict[str, str]:
    return {_NAME.match(s).group(2): s for s in statements if _NAME.match(s)}


SINGLE = render_schema("db", "otel_traces", 7, ENGINE)
CLUSTERED = render_schema("db", "otel_traces", 7, ENGINE, cluster=CLUSTER)


def test_every_table_and_view_has_its_cluster_form():
    single, clustered = objects(SINGLE), objects(CLUSTERED)
    tables = [name for name, kind in single.items() if kind == "TABLE"]
    views = [name for name, kind in single.items() if kind != "TABLE"]
    assert len(tables) == 2 + len(ADDITIONS) and len(views) == 1 + len(ADDITIONS)
    # Each table: a local one and a Distributed one under the name readers use; views as they were.
    assert clustered == {**{t + LOCAL_SUFFIX: "TABLE" for t in tables},
                         **{t: "TABLE" for t in tables}, **{v: single[v] for v in views}}
    assert CLUSTERED[0] == f"CREATE DATABASE IF NOT EXISTS `db` ON CLUSTER `{CLUSTER}`"
    assert all(f" ON CLUSTER `{CLUSTER}`" in s.splitlines()[0] for s in CLUSTERED)


def test_local_tables_use_the_engine_family_and_distributed_tables_shard_by_trace():
    sql = by_name(CLUSTERED)
    for table in ["otel_traces", "otel_traces_trace_id_ts"] + [
            "otel_traces" + suffix for suffix in ADDITIONS]:
        suffix = table[len("otel_traces"):]
        engine = f"Replicated{OWN_ENGINE.get(suffix, 'MergeTree')}({PARAMS})"
        assert f") ENGINE = {engine}\n" in sql[table + LOCAL_SUFFIX]
        key = "rand()" if suffix == "_span_stats" else SHARDING_KEY  # no TraceId column there
        assert sql[table].endswith(
            f"AS `db`.`{table}_local`\nENGINE = Distributed('{CLUSTER}', 'db', "
            f"'{table}_local', {key})")


def test_views_read_the_local_traces_table_and_fill_local_tables():
    for name, sql in by_name(CLUSTERED).items():
        if name.endswith("_mv"):
            target = name[:-len("_mv")]
            assert f"TO `db`.`{target}_local`\n" in sql
            assert "FROM `db`.`otel_traces_local`\n" in sql
            assert "`db`.`otel_traces`\n" not in sql  # never the Distributed table


@pytest.fixture(scope="module")
def parsed(store_endpoint):
    """Each cluster statement as ClickHouse's parser formats it (formatQuery in chDB)."""
    client = open_client(store_endpoint, "default")
    try:
        yield [client.query("SELECT formatQuery({sql:String})", parameters={"sql": sql})
               .result_rows[0][0] for sql in CLUSTERED]
    finally:
        client.close()


def test_clickhouse_parses_every_cluster_statement(parsed):
    assert len(parsed) == len(CLUSTERED)
    for sql, text in zip(CLUSTERED, parsed):
        name = _NAME.match(sql).group(2) if _NAME.match(sql) else "db"
        assert f"ON CLUSTER `{CLUSTER}`" in text, name   # '-' keeps the backquotes
        if " AS `db`" in sql:            # a Distributed table
            assert f"ENGINE = Distributed('{CLUSTER}', 'db', '{name}_local', " in text
            assert (SHARDING_KEY in text) != name.endswith("_span_stats")
        elif sql.startswith("CREATE TABLE"):
            assert re.search(r"ENGINE = Replicated(Aggregating|Summing)?MergeTree\('/clickhouse/"
                             r"tables/\{shard\}/\{database\}/\{table\}', '\{replica\}'\)", text)
        elif sql.startswith("CREATE MATERIALIZED VIEW"):
            assert re.search(r" TO db\.\w+_local\n", text) and "FROM db.otel_traces_local" in text


def test_the_parser_refuses_a_broken_statement(store_endpoint):
    """The check above can fail: a statement cut short is refused by the same parser."""
    client = open_client(store_endpoint, "default")
    try:
        with pytest.raises(Exception, match="Syntax error"):
            client.query("SELECT formatQuery({sql:String})",
                         parameters={"sql": CLUSTERED[1][:200]})
    finally:
        client.close()


def test_no_cluster_renders_the_one_server_schema():
    assert render_schema("db", "otel_traces", 7, ENGINE, cluster="") == SINGLE
    assert not any("ON CLUSTER" in s or "_local`" in s or "Distributed" in s for s in SINGLE)


@pytest.mark.parametrize("engine,problem", [
    ("ReplacingMergeTree()", "cannot hold the traces table on a cluster"),
    ("ReplicatedMergeTree('/clickhouse/tables/{shard}/spans', '{replica}')", "{table} or {uuid}"),
])
def test_engines_a_cluster_cannot_use(engine, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        render_schema("db", "otel_traces", 0, engine, cluster=CLUSTER)


@pytest.mark.parametrize("engine,prefix", [
    ("MergeTree()", ""), ("ReplicatedMergeTree()", "Replicated"), ("SharedMergeTree()", "Shared"),
    ("ReplicatedMergeTree('/t/{uuid}/{shard}', '{replica}')", "Replicated")])
def test_engine_families(engine, prefix):
    assert check_cluster_engine(engine)[0] == prefix
    summary = by_name(render_schema("db", "t", 0, engine, cluster="c"))["t_trace_summary_local"]
    params = engine[engine.index("(") + 1:-1]
    want = f"{prefix}AggregatingMergeTree({params})" if prefix else "AggregatingMergeTree"
    assert f") ENGINE = {want}\n" in summary


def test_bad_cluster_name():
    with pytest.raises(ConfigError, match="invalid cluster name"):
        render_schema("db", "otel_traces", cluster="a`; DROP")


def test_insert_settings():
    assert insert_settings() == {}
    assert insert_settings(cluster=CLUSTER) == CLUSTER_INSERT_SETTINGS
    assert CLUSTER_INSERT_SETTINGS["insert_distributed_sync"] == 1
    assert insert_settings(async_insert=True) == {"async_insert": 1, "wait_for_async_insert": 1}
    assert insert_settings(async_insert=True, replicated=True)["async_insert_deduplicate"] == 1


def _local_only(statements) -> list[str]:
    """The cluster statements a single chDB can run: no ON CLUSTER, no Distributed table."""
    clause = re.compile(r" ON CLUSTER `[^`]+`")
    return [clause.sub("", s) for s in statements if "ENGINE = Distributed(" not in s]


def _counts(client, database, names) -> dict[str, int]:
    return {name: client.query(f"SELECT count() FROM `{database}`.`{name}`").result_rows[0][0]
            for name in names}


def test_the_views_fill_the_local_tables_as_the_one_server_schema(client, database,
                                                                  open_store_client):
    local_db, single_db = database + "_local", database + "_single"
    for sql in _local_only(render_schema(local_db, "otel_traces", 0, "MergeTree()", cluster="c")):
        client.command(sql)
    create_schema(client, single_db, "otel_traces")
    batch = full_batch()
    for db, table in ((local_db, "otel_traces_local"), (single_db, "otel_traces")):
        writer = TraceWriter(open_store_client(), db, table)
        assert writer.write(batch) == len(batch)
    targets = ["_trace_id_ts", *ADDITIONS]
    local = _counts(client, local_db, ["otel_traces_local"] + [
        f"otel_traces{s}_local" for s in targets])
    single = _counts(client, single_db, ["otel_traces"] + [f"otel_traces{s}" for s in targets])
    assert list(local.values()) == list(single.values())
    assert all(n > 0 for n in local.values()), local
    # Replayed inserts are deduplicated on the local tables too (the *_local names match).
    changed = enable_deduplication(client, local_db, "otel_traces")
    assert set(changed) == set(local)
    batch.insert_token = "log-1:1-2"
    writer = TraceWriter(open_store_client(), local_db, "otel_traces_local")
    assert writer.write(batch) == len(batch) and writer.write(batch) == len(batch)  # a replay
    # Tables whose rows are never merged away (the summary and stats merge rows by key).
    plain = [name for name in local if not name.endswith(("_trace_summary_local",
                                                          "_span_stats_local"))]
    assert _counts(client, local_db, plain) == {name: 2 * local[name] for name in plain}


def test_token_inserts_are_synchronous():
    assert token_insert_settings("log:1-9") == {"insert_deduplication_token": "log:1-9",
                                                "async_insert": 0}


def test_clickhouse_knows_every_setting(store_endpoint):
    """chDB applies a client's settings with SET when it opens and refuses an unknown name, so
    a misspelt setting fails here."""
    with pytest.raises(StoreError, match="Unknown setting"):
        open_client(store_endpoint, "default", settings={"insert_distributed_synk": 1})
    every = {**CLUSTER_INSERT_SETTINGS, **CLUSTER_READ_SETTINGS, **ASYNC_INSERT_SETTINGS,
             **ASYNC_REPLICATED_SETTINGS, **token_insert_settings("t")}
    client = open_client(store_endpoint, "default", settings=every)
    try:
        names = {row[0]: row[1] for row in client.query(
            "SELECT name, value FROM system.settings WHERE changed AND name IN {n:Array(String)}",
            parameters={"n": list(every)}).result_rows}
    finally:
        client.close()
    assert set(names) >= set(every) - {"insert_deduplication_token"} - {
        k for k, v in every.items() if str(v) == "0"}


def test_a_traces_table_named_like_a_view_still_gets_a_local_table():
    names = objects(render_schema("db", "spans_mv", 0, ENGINE, cluster=CLUSTER))
    assert names["spans_mv_local"] == names["spans_mv"] == "TABLE"
    assert names["spans_mv_trace_summary_mv"] == "MATERIALIZED VIEW"
