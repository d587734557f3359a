"""Exactly once behind a processor: after a crash, the store exporter stores only the replayed
spans it has not got (``StoreExporter.replayed_through``, ``Writer.stored_span_ids``).

Behind tail sampling the store's INSERTs carry no log token (spans are regrouped by trace), so
a trace stored before a crash, whose log records were not yet released, comes back on replay.
Here the "before" is a real INSERT into the embedded store and the replay a batch whose log
seq is within the replayed range."""

from __future__ import annotations

import sys
from pathlib import Path

from spanhouse.exporters.clickhouse import StoreExporter
from spanhouse.model.otlp_proto import decode_request
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter
from spanhouse.telemetry import Telemetry

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.workload import make_request  # noqa: E402

TABLE = "otel_traces"


def counts(client, database: str) -> tuple[int, int]:
    [[rows, distinct]] = client.query(
        f"SELECT count(), uniqExact(TraceId, SpanId) FROM `{database}`.{TABLE}").result_rows
    return int(rows), int(distinct)


def test_replayed_spans_already_stored_are_not_stored_again(client, open_store_client,
                                                             database):
    create_schema(client, database, TABLE)
    request, _ = make_request(10, 5, seed=11)
    batch = decode_request(request).batch            # 50 spans of 10 traces
    before_crash = batch.take(range(0, 30))
    TraceWriter(open_store_client(), database, TABLE).write(before_crash)

    telemetry = Telemetry()
    exporter = StoreExporter(lambda: TraceWriter(open_store_client(), database, TABLE),
                             telemetry, flush_interval_s=0.05)
    exporter.replayed_through = 7                     # the log's replay ended at seq 7
    replayed = batch.take(range(0, 50))
    replayed.seq_low = 5
    exporter.start()
    exporter.export(replayed)
    assert exporter.flush(30)

    assert counts(client, database) == (50, 50)       # the 20 missing spans, once
    assert telemetry.counter("spanhouse_spans_replay_already_stored", "",
                             ["exporter"]).labels("clickhouse")._value.get() == 30

    # past the replay (a later seq) nothing is looked up: the batch is stored as given
    later = batch.take(range(0, 5))
    later.seq_low = 8
    exporter.export(later)
    assert exporter.flush(30)
    assert exporter.shutdown(10)
    assert counts(client, database) == (55, 50)
