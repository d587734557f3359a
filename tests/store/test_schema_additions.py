"""Spanhouse's schema additions (spanhouse.store.schema.ADDITIONS): created after the exporter's
three objects, only with a new traces table, filled by their views from every insert, and
written with the same error / entry tests as the query service's SQL."""

from __future__ import annotations

from spanhouse.query.sqlutil import IS_ENTRY, IS_ERROR, MAX_INDEXED_BYTES
from spanhouse.sqlfiles import read_sql
from spanhouse.store.schema import (
    ADDITION_FILES, ADDITIONS, DDL_FILES, SQL_PACKAGE, create_schema, render_schema,
    span_graph_columns,
)
from spanhouse.store.writer import TraceWriter

from tests.store.batches import TRACE_A, TRACE_B, full_batch
from tests.store.exporter_ddl import create_exporter_tables

ADDED = [f"otel_traces{suffix}{end}" for suffix in ADDITIONS for end in ("", "_mv")]


def tables(client, database) -> set[str]:
    return {row[0] for row in client.query(
        "SELECT name FROM system.tables WHERE database = {d:String}",
        parameters={"d": database}).result_rows}


def test_the_additions_come_after_the_exporters_objects():
    statements = render_schema("db", "otel_traces", ttl_days=7)
    assert len(statements) == 1 + len(DDL_FILES) + len(ADDITION_FILES)
    added = statements[1 + len(DDL_FILES):]
    assert "`db`.`otel_traces_trace_summary`" in added[0]
    assert "TTL toDateTime(Start) + toIntervalDay(7)" in added[0]
    assert "TO `db`.`otel_traces_trace_summary`" in added[1] and "FROM `db`.`otel_traces`" in added[1]
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in added[2]
    assert all("{" not in s for s in statements)


def test_views_use_the_query_services_error_and_entry_tests():
    """The views precompute what spanhouse.query.sqlutil's fragments test at query time."""
    assert IS_ERROR in read_sql(SQL_PACKAGE, "trace_summary_mv.sql")
    entry_view = read_sql(SQL_PACKAGE, "entry_error_spans_mv.sql")
    assert IS_ERROR in entry_view
    assert IS_ENTRY.strip("()") in entry_view
    assert f"<= {MAX_INDEXED_BYTES}" in read_sql(SQL_PACKAGE, "attributes_mv.sql")
    stats_view = read_sql(SQL_PACKAGE, "span_stats_mv.sql")
    assert IS_ERROR in stats_view and IS_ENTRY.strip("()") in stats_view


def test_span_graph_view_and_the_doctor_share_the_relation_columns():
    """The doctor computes the span graph's relation columns from the traces table when a store
    has not got the addition: one text, in the view and in the doctor's subquery."""
    view = render_schema("db", "otel_traces")[-1]
    assert "_span_graph_mv" in view and span_graph_columns() in view
    assert "cityHash64(TraceId, SpanId) AS SpanHash" in span_graph_columns()
    assert IS_ERROR in view and IS_ENTRY.strip("()") in view


def test_create_schema_creates_the_additions(client, database):
    create_schema(client, database, "otel_traces")
    assert set(ADDED) <= tables(client, database)
    create_schema(client, database, "otel_traces")      # idempotent
    assert set(ADDED) <= tables(client, database)


def test_no_additions_next_to_an_existing_table(client, chdb_dir, database):
    """A view only sees later inserts: next to a table that may hold spans, an addition would be
    incomplete. So none is created for an exporter-created (or older Spanhouse) table."""
    create_exporter_tables(chdb_dir, "sql_templates", database)
    create_schema(client, database, "otel_traces")
    assert not set(ADDED) & tables(client, database)


def test_the_views_fill_the_additions(client, database, open_store_client):
    create_schema(client, database, "otel_traces")
    batch = full_batch()
    writer = TraceWriter(open_store_client(), database, "otel_traces")
    writer.write(batch.take([0, 1, 2]))          # one trace over two inserts
    writer.write(batch.take(range(3, len(batch))))

    def rows(sql):
        return client.query(sql.replace("DB", f"`{database}`")).result_rows

    expected = rows("""
        SELECT TraceId, count(), countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR')),
               toUnixTimestamp64Nano(min(Timestamp)),
               max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)),
               arraySort(groupUniqArray(toString(ServiceName)))
        FROM DB.otel_traces GROUP BY TraceId ORDER BY TraceId""")
    summary = rows("""
        SELECT TraceId, sum(SpanCount), sum(ErrorCount), toUnixTimestamp64Nano(min(Start)),
               max(End), arraySort(groupUniqArrayArray(Services))
        FROM DB.otel_traces_trace_summary GROUP BY TraceId ORDER BY TraceId""")
    assert summary == expected and {r[0] for r in summary} == {TRACE_A, TRACE_B}
    # the root (else earliest span): service, operation, duration
    roots = rows("""
        SELECT TraceId, argMin((toString(ServiceName), toString(SpanName), Duration),
                               (ParentSpanId != '', Timestamp, SpanId))
        FROM DB.otel_traces GROUP BY TraceId ORDER BY TraceId""")
    summary_roots = rows("""
        SELECT TraceId, (min(Root).4, min(Root).5, min(Root).6)
        FROM DB.otel_traces_trace_summary GROUP BY TraceId ORDER BY TraceId""")
    assert summary_roots == roots

    # every span and resource attribute of at most MAX_INDEXED_BYTES, one row per span
    expected_index = rows(f"""
        SELECT count() FROM DB.otel_traces
        ARRAY JOIN arrayConcat(CAST(SpanAttributes, 'Array(Tuple(String, String))'),
                               CAST(ResourceAttributes, 'Array(Tuple(String, String))')) AS kv
        WHERE length(kv.1) <= {MAX_INDEXED_BYTES} AND length(kv.2) <= {MAX_INDEXED_BYTES}""")
    assert rows("SELECT count() FROM DB.otel_traces_attributes") == expected_index
    assert rows("""SELECT count() FROM DB.otel_traces_attributes AS a
                   WHERE (a.TraceId, a.Timestamp, a.Key, a.Value) NOT IN (
                       SELECT TraceId, Timestamp, kv.1, kv.2 FROM DB.otel_traces
                       ARRAY JOIN arrayConcat(
                           CAST(SpanAttributes, 'Array(Tuple(String, String))'),
                           CAST(ResourceAttributes, 'Array(Tuple(String, String))')) AS kv)""") == [(0,)]

    entry_error = rows(f"""
        SELECT SpanId, toUInt8({IS_ERROR}), toUInt8({IS_ENTRY}), toUInt8(ParentSpanId = ''),
               Duration, toFloat64(AdjustedCount)
        FROM DB.otel_traces WHERE {IS_ERROR} OR {IS_ENTRY} ORDER BY SpanId""")
    assert entry_error and rows("""
        SELECT SpanId, IsError, IsEntry, IsRoot, Duration, Weight FROM DB.otel_traces_entry_error_spans
        ORDER BY SpanId""") == entry_error

    # span stats: the spans of each minute, service, name, policy (one insert or two)
    stats_sql = """
        SELECT toStartOfMinute(Timestamp) AS m, toString(ServiceName), toString(SpanName),
               toString(SamplingPolicy), count(), sum(toFloat64(AdjustedCount)),
               countIf({err}), countIf({err} AND AdjustedCount > 1), countIf(Duration = 0)
        FROM DB.otel_traces GROUP BY ALL ORDER BY ALL"""
    assert rows(stats_sql.format(err=IS_ERROR)) == rows("""
        SELECT Minute, toString(ServiceName), toString(SpanName), toString(SamplingPolicy),
               sum(Spans), sum(Weight), sum(Errors), sum(SampledErrors), sum(ZeroDuration)
        FROM DB.otel_traces_span_stats GROUP BY ALL ORDER BY ALL""")
    # ... and, for entry spans, their sorted distinct "*.id" keys
    assert rows(f"""
        SELECT arraySort(arrayDistinct(arrayFilter(k -> endsWith(k, '.id'),
                   arrayConcat(mapKeys(SpanAttributes), mapKeys(ResourceAttributes))))) AS keys,
               count()
        FROM DB.otel_traces WHERE {IS_ENTRY} GROUP BY keys ORDER BY keys""") == rows("""
        SELECT EntryKeys, sum(Spans) FROM DB.otel_traces_span_stats WHERE IsEntry = 1
        GROUP BY EntryKeys ORDER BY EntryKeys""")

    # span graph: one row per span, with the hashes the doctor joins on
    assert rows("""
        SELECT TraceId, cityHash64(TraceId, SpanId),
               if(ParentSpanId = '', toUInt64(0), cityHash64(TraceId, ParentSpanId)),
               arrayMap((t, s) -> cityHash64(t, s), Links.TraceId, Links.SpanId)
        FROM DB.otel_traces ORDER BY ALL""") == rows("""
        SELECT TraceId, SpanHash, ParentHash, LinkHashes FROM DB.otel_traces_span_graph
        ORDER BY ALL""")
