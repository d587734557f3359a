"""create_schema: the exporter's tables (every column, type, codec, index, key, TTL) plus
Spanhouse's extras; idempotent; identifiers validated."""

from __future__ import annotations

import pytest

from spanhouse.errors import ConfigError
from spanhouse.store.schema import create_schema, render_schema, table_columns, ttl_clause

from tests.store.exporter_ddl import create_exporter_tables

SPANHOUSE_EXTRAS = {
    "Events.AttributeTypes", "Events.DroppedAttributesCount", "Links.AttributeTypes",
    "Links.Flags", "Links.DroppedAttributesCount", "ResourceAttributeTypes",
    "SpanAttributeTypes", "TraceFlags", "DroppedAttributesCount", "DroppedEventsCount",
    "DroppedLinksCount", "ResourceDroppedAttributesCount", "AdjustedCount", "SamplingPolicy",
}
TABLES = ("otel_traces", "otel_traces_trace_id_ts", "otel_traces_trace_id_ts_mv")


def columns(client, database, table) -> dict[str, tuple]:
    rows = client.query(
        "SELECT name, type, compression_codec, default_kind, default_expression FROM system.columns "
        "WHERE database = {d:String} AND table = {t:String} ORDER BY position",
        parameters={"d": database, "t": table}).result_rows
    return {r[0]: tuple(r[1:]) for r in rows}


def table_info(client, database, table) -> dict:
    row = client.query(
        "SELECT engine, engine_full, partition_key, sorting_key, primary_key, as_select "
        "FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": database, "t": table}).result_rows
    assert row, f"{database}.{table} missing"
    keys = ("engine", "engine_full", "partition_key", "sorting_key", "primary_key", "as_select")
    info = dict(zip(keys, row[0]))
    info["as_select"] = info["as_select"].replace(f"{database}.", "DB.")
    return info


def indices(client, database, table) -> set[tuple]:
    return set(client.query(
        "SELECT name, type_full, expr, granularity FROM system.data_skipping_indices "
        "WHERE database = {d:String} AND table = {t:String}",
        parameters={"d": database, "t": table}).result_rows)


@pytest.mark.parametrize("ttl_days", [0, 3])
def test_our_tables_match_the_exporters(client, chdb_dir, database, ttl_days):
    ours, upstream = database, database + "_up"
    create_schema(client, ours, "otel_traces", ttl_days=ttl_days)
    create_exporter_tables(chdb_dir, "sql_templates", upstream, ttl_days=ttl_days)

    for table in TABLES[:2]:
        up_cols, our_cols = columns(client, upstream, table), columns(client, ours, table)
        for name, spec in up_cols.items():  # every exporter column, same type/codec/default
            assert our_cols.get(name) == spec, name
        # the exporter's columns keep their order (our extras come after each group)
        assert [name for name in our_cols if name in up_cols] == list(up_cols)
        assert indices(client, ours, table) == indices(client, upstream, table)
    extras = set(columns(client, ours, "otel_traces")) - set(columns(client, upstream, "otel_traces"))
    assert extras == SPANHOUSE_EXTRAS
    for table in TABLES:  # engine, TTL, settings, PARTITION BY, ORDER BY, the view's SELECT
        assert table_info(client, ours, table) == table_info(client, upstream, table), table
    if ttl_days:
        assert "TTL toDateTime(Timestamp) + toIntervalDay(3)" in table_info(
            client, ours, "otel_traces")["engine_full"]


def test_create_schema_is_idempotent(client, database):
    create_schema(client, database, "spans")
    before = columns(client, database, "spans")
    create_schema(client, database, "spans")
    assert columns(client, database, "spans") == before
    assert table_columns(client, database, "spans") == set(before)
    assert table_columns(client, database, "spans_trace_id_ts") == {"TraceId", "Start", "End"}


def test_create_schema_leaves_an_exporter_table_alone(client, chdb_dir, database):
    create_exporter_tables(chdb_dir, "sql_templates", database)
    before = columns(client, database, "otel_traces")
    create_schema(client, database, "otel_traces")
    assert columns(client, database, "otel_traces") == before


@pytest.mark.parametrize("database_name, table_name", [
    ("bad-name", "otel_traces"), ("1db", "otel_traces"), ("db`x", "otel_traces"),
    ("", "otel_traces"), ("db", "t; DROP TABLE x"), ("db", "t.x"), ("db", "t x"),
    ("db", "t\n"), ("db", "tr\u00e4ces"), ("db", None),
])
def test_bad_identifiers_are_refused(client, database_name, table_name):
    with pytest.raises(ConfigError):
        create_schema(client, database_name, table_name)
    with pytest.raises(ConfigError):
        render_schema(database_name, table_name)


def test_bad_engine_and_ttl_are_refused():
    with pytest.raises(ConfigError):
        render_schema("db", "t", engine="MergeTree(); DROP TABLE x")
    with pytest.raises(ConfigError):
        render_schema("db", "t", ttl_days=-1)
    with pytest.raises(ConfigError):
        render_schema("db", "t", ttl_days="7")


def test_ttl_is_rendered_as_the_exporter_does():
    assert ttl_clause("Timestamp", 0) == ""
    assert ttl_clause("Timestamp", 7) == "TTL toDateTime(Timestamp) + toIntervalDay(7)"
    statements = render_schema("db", "otel_traces", ttl_days=7)
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `db`"
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in statements[1]
    assert "TTL toDateTime(Start) + toIntervalDay(7)" in statements[2]
    assert "`db`.`otel_traces_trace_id_ts`" in statements[2]
    assert "TO `db`.`otel_traces_trace_id_ts`" in statements[3]
    assert "FROM `db`.`otel_traces`" in statements[3]
    assert all("{" not in s for s in statements)


def test_another_engine(client, database):
    create_schema(client, database, "rmt", engine="ReplacingMergeTree()")
    assert table_info(client, database, "rmt")["engine"] == "ReplacingMergeTree"
