"""Tables created by the collector's ClickHouse exporter (its exact DDL), rows written the way
the exporter writes them, read back with TraceReader and trace_to_jaeger; and TraceWriter
writing into such a table (no Spanhouse columns)."""

from __future__ import annotations

import pytest

from spanhouse.api.jaeger_json import trace_to_jaeger
from spanhouse.store.reader import TraceReader
from spanhouse.store.schema import table_columns
from spanhouse.store.writer import TraceWriter

from tests.store.batches import T0, TRACE_A, TRACE_B, expected_in_exporter_table, full_batch
from tests.store.exporter_ddl import EXPORTER_INSERT_COLUMNS, VARIANTS, create_exporter_tables

TRACE = "7a3c0b2f6f1e4d5a9b8c7d6e5f4a3b2c"
OTHER_TRACE = "11112222333344445555666677778888"
ROOT, CHILD, LEGACY = "1a2b3c4d5e6f7081", "2b3c4d5e6f708192", "3c4d5e6f708192a3"


def exporter_rows(t0: int) -> list[list]:
    """Three spans as the exporter inserts them: attribute values as AsString() strings,
    enum names as pdata's String() (current) or the proto names (older releases)."""
    shop = {"service.name": "shop", "host.name": "h1", "process.pid": "1234"}
    return [
        [t0, TRACE, ROOT, "", "", "GET /cart", "Server", "shop", shop,
         "io.opentelemetry.http", "1.4.0",
         {"http.method": "GET", "http.status_code": "200", "http.flag": "true"},
         120_000_000, "Unset", "",
         [t0 + 5_000], ["cache.miss"], [{"cache.key": "cart:42", "cache.size": "3"}],
         [], [], [], []],
        [t0 + 1_000_000, TRACE, CHILD, ROOT, "rojo=1", "charge", "Client", "shop", shop,
         "io.opentelemetry.http", "1.4.0", {"peer.service": "payments"},
         90_000_500, "Error", "card declined",
         [t0 + 2_000_000, t0 + 3_000_000], ["exception", "retry"],
         [{"exception.type": "CardError", "exception.message": "declined"}, {}],
         [OTHER_TRACE], ["9999999999999999"], ["congo=2"], [{"link.kind": "batch"}]],
        [t0 + 2_500_000, TRACE, LEGACY, CHILD, "", "legacy call", "SPAN_KIND_CLIENT", "legacy",
         {"service.name": "legacy"}, "", "", {"otel.scope.name": "old-lib"},
         1_000, "STATUS_CODE_ERROR", "",
         [], [], [], [], [], [], []],
    ]


@pytest.fixture(params=list(VARIANTS))
def exporter_db(request, chdb_dir, database):
    create_exporter_tables(chdb_dir, request.param, database)
    return database


def test_exporter_tables_have_no_spanhouse_columns(client, exporter_db):
    columns = table_columns(client, exporter_db, "otel_traces")
    assert "SpanAttributeTypes" not in columns and "TraceFlags" not in columns
    assert {"ScopeName", "Events.Attributes", "Links.TraceState"} <= columns


def test_reads_rows_written_by_the_exporter(client, exporter_db, open_store_client):
    client.insert(f"{exporter_db}.otel_traces", exporter_rows(T0), column_names=EXPORTER_INSERT_COLUMNS)
    reader = TraceReader(open_store_client(), exporter_db, "otel_traces")
    spans = reader.get_trace(TRACE)

    assert [s.span_id for s in spans] == [ROOT, CHILD, LEGACY]  # by start time
    root, child, legacy = spans
    assert [s.parent_span_id for s in spans] == ["", ROOT, CHILD]
    assert [s.kind for s in spans] == [2, 3, 3]            # Server, Client, SPAN_KIND_CLIENT
    assert [s.status_code for s in spans] == [0, 2, 2]     # Unset, Error, STATUS_CODE_ERROR
    assert child.status_message == "card declined"
    assert [s.start_ns for s in spans] == [T0, T0 + 1_000_000, T0 + 2_500_000]
    assert [s.duration_ns for s in spans] == [120_000_000, 90_000_500, 1_000]
    # no *AttributeTypes columns: values stay the exporter's strings
    assert root.attributes == {"http.method": "GET", "http.status_code": "200", "http.flag": "true"}
    assert root.resource_attributes["process.pid"] == "1234"
    assert (root.service_name, root.scope_name, root.scope_version) == (
        "shop", "io.opentelemetry.http", "1.4.0")
    assert root.events[0].time_ns == T0 + 5_000 and root.events[0].name == "cache.miss"
    assert root.events[0].attributes == {"cache.key": "cart:42", "cache.size": "3"}
    assert [e.name for e in child.events] == ["exception", "retry"]
    (link,) = child.links
    assert (link.trace_id, link.span_id, link.trace_state, link.attributes) == (
        OTHER_TRACE, "9999999999999999", "congo=2", {"link.kind": "batch"})
    assert child.trace_state == "rojo=1"
    assert legacy.service_name == "legacy" and legacy.flags == 0
    assert reader.get_trace(OTHER_TRACE) == []

    doc = trace_to_jaeger(spans)
    assert doc["traceID"] == TRACE
    by_id = {s["spanID"]: s for s in doc["spans"]}
    assert by_id[ROOT]["references"] == []
    assert by_id[CHILD]["references"] == [
        {"refType": "CHILD_OF", "traceID": TRACE, "spanID": ROOT},
        {"refType": "FOLLOWS_FROM", "traceID": OTHER_TRACE, "spanID": "9999999999999999"}]
    assert by_id[LEGACY]["references"] == [{"refType": "CHILD_OF", "traceID": TRACE, "spanID": CHILD}]
    assert by_id[CHILD]["startTime"] == (T0 + 1_000_000) // 1000
    assert by_id[CHILD]["duration"] == 90_000
    child_tags = {t["key"]: (t["type"], t["value"]) for t in by_id[CHILD]["tags"]}
    assert child_tags["span.kind"] == ("string", "client")
    assert child_tags["otel.status_code"] == ("string", "ERROR")
    assert child_tags["error"] == ("bool", True)
    assert child_tags["otel.status_description"] == ("string", "card declined")
    assert child_tags["w3c.tracestate"] == ("string", "rojo=1")
    assert child_tags["otel.scope.name"] == ("string", "io.opentelemetry.http")
    legacy_tags = {t["key"]: t["value"] for t in by_id[LEGACY]["tags"]}
    assert legacy_tags["span.kind"] == "client" and legacy_tags["error"] is True
    assert by_id[ROOT]["logs"] == [{"timestamp": (T0 + 5_000) // 1000, "fields": [
        {"key": "event", "type": "string", "value": "cache.miss"},
        {"key": "cache.key", "type": "string", "value": "cart:42"},
        {"key": "cache.size", "type": "string", "value": "3"}]}]
    assert by_id[CHILD]["logs"][1]["fields"] == [{"key": "event", "type": "string", "value": "retry"}]
    processes = doc["processes"]
    assert by_id[ROOT]["processID"] == by_id[CHILD]["processID"] != by_id[LEGACY]["processID"]
    assert processes[by_id[ROOT]["processID"]] == {"serviceName": "shop", "tags": [
        {"key": "host.name", "type": "string", "value": "h1"},
        {"key": "process.pid", "type": "string", "value": "1234"}]}
    assert processes[by_id[LEGACY]["processID"]] == {"serviceName": "legacy", "tags": []}


def test_trace_writer_writes_into_an_exporter_table(client, exporter_db, open_store_client):
    writer = TraceWriter(open_store_client(), exporter_db, "otel_traces")
    assert "TraceFlags" not in writer.columns
    batch = full_batch()
    assert writer.write(batch) == 6
    reader = TraceReader(open_store_client(), exporter_db, "otel_traces")
    assert reader.get_trace(TRACE_A) == expected_in_exporter_table(batch, TRACE_A)
    assert reader.get_trace(TRACE_B) == expected_in_exporter_table(batch, TRACE_B)
    # the exporter's own conventions are what got stored
    kinds = client.query(
        f"SELECT SpanKind, StatusCode FROM {exporter_db}.otel_traces "
        "WHERE TraceId = {t:String} ORDER BY Timestamp", parameters={"t": TRACE_A}).result_rows
    assert kinds[:2] == [("Server", "Ok"), ("Client", "Error")]
