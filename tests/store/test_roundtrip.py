"""SpanBatch -> TraceWriter -> chDB -> TraceReader -> SpanRecords, on the real engine."""

from __future__ import annotations

import copy
import threading

import pytest

from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.batch import SpanBatch
from spanhouse.store.reader import TraceReader
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter, batch_to_arrow

from tests.store.batches import (
    EVERY_TYPE, TRACE_A, TRACE_B, expected_trace, full_batch,
)

TABLE = "otel_traces"


@pytest.fixture
def store(client, database, open_store_client):
    create_schema(client, database, TABLE)
    writer = TraceWriter(open_store_client(), database, TABLE)
    reader = TraceReader(open_store_client(), database, TABLE)
    return writer, reader


def test_round_trip_restores_every_field_and_type(store):
    writer, reader = store
    batch = full_batch()
    assert writer.write(batch) == len(batch) == 6

    got = reader.get_trace(TRACE_A)
    assert got == expected_trace(batch, TRACE_A)
    assert [s.name for s in got] == [
        "GET /checkout", "POST /api/pay", "pay", "SELECT payments", "skewed"]

    root = got[0]
    assert root.attributes == EVERY_TYPE
    assert list(root.attributes) == list(EVERY_TYPE)  # map order survives
    assert type(root.attributes["http.status_code"]) is int
    assert root.attributes["payload"] == b"\x00\x01\x02\xff"
    assert root.attributes["config"] == {"a": {"nested": [1, 2]}, "b": 1}
    assert root.attributes["nothing"] is None
    assert root.resource_attributes["process.pid"] == 4242
    assert root.resource_attributes["build.id"] == b"\xde\xad"
    assert (root.scope_name, root.scope_version) == ("io.opentelemetry.flask", "0.42b0")
    assert root.trace_state == "congo=t61rcWkgMzE" and root.flags == 1
    assert root.duration_ns == 250_000_123

    client_span = got[1]
    assert (client_span.kind, client_span.status_code) == (3, 2)
    assert client_span.status_message == "upstream returned 503"
    assert client_span.flags == 0x301
    assert (client_span.dropped_attributes_count, client_span.dropped_events_count,
            client_span.dropped_links_count) == (3, 4, 5)
    assert [e.name for e in client_span.events] == ["exception", "retry"]
    assert client_span.events[0].attributes["exception.escaped"] is True
    assert client_span.events[0].dropped_attributes_count == 1
    (link,) = client_span.links
    assert (link.trace_state, link.flags, link.dropped_attributes_count) == (
        "rojo=00f067aa0ba902b7", 0x101, 6)
    assert link.attributes["link.weight"] == 0.75

    assert got[3].duration_ns == 0 and got[4].duration_ns == 0  # end == start; end < start
    assert all(s.adjusted_count == 1.0 and s.sampling_policy == "" for s in got)

    assert reader.get_trace(TRACE_B) == expected_trace(batch, TRACE_B)


def test_times_are_exact_nanoseconds(store):
    writer, reader = store
    batch = full_batch(t0=1_700_000_000_987_654_321)  # our tables have no TTL: any time works
    writer.write(batch)
    got = reader.get_trace(TRACE_A)
    assert got[0].start_ns == 1_700_000_000_987_654_321
    assert got[0].events[0].time_ns == 1_700_000_000_987_655_321


def test_unknown_trace_is_empty_and_bad_ids_are_refused(store):
    writer, reader = store
    writer.write(full_batch())
    assert reader.get_trace("0" * 31 + "1") == []
    assert reader.get_trace(TRACE_A.upper()) == reader.get_trace(TRACE_A)
    for bad in ("", "xyz", TRACE_A[:-1], TRACE_A + "0", "g" * 32, "' OR 1=1 --" + "0" * 21,
                TRACE_A[:30] + "\n0", TRACE_A + "\n"):
        with pytest.raises(InvalidInput):
            reader.get_trace(bad)


def test_write_does_not_modify_the_batch_and_is_not_idempotent(store):
    writer, reader = store
    batch = full_batch()
    before = copy.deepcopy(batch)
    writer.write(batch)
    assert batch == before
    writer.write(batch)  # a retried batch is written twice
    got = reader.get_trace(TRACE_A)
    assert len(got) == 10
    assert got[::2] == expected_trace(batch, TRACE_A)  # each span twice, side by side
    assert got[1::2] == expected_trace(batch, TRACE_A)


def test_empty_batch_writes_nothing(store):
    writer, _ = store
    assert writer.write(SpanBatch()) == 0


def test_concat_of_batches_round_trips(store):
    writer, reader = store
    a, b = full_batch(), full_batch(t0=full_batch().start_ns[0] + 10**9)
    b.trace_id = [t.replace("5b8e", "6b8e") for t in b.trace_id]
    merged = SpanBatch.concat([a, b])
    writer.write(merged)
    assert reader.get_trace(TRACE_A) == expected_trace(merged, TRACE_A)
    other = TRACE_A.replace("5b8e", "6b8e")
    assert reader.get_trace(other) == expected_trace(merged, other)


def test_one_writer_and_one_reader_per_thread(store, open_store_client, database):
    """Several writers (each on its own thread and client) on the one chDB path."""
    errors = []

    def work(n: int) -> None:
        try:
            writer = TraceWriter(open_store_client(), database, TABLE)
            batch = full_batch()
            batch.trace_id = [f"{n:02x}" + t[2:] for t in batch.trace_id]
            writer.write(batch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _, reader = store
    for n in range(4):
        assert len(reader.get_trace(f"{n:02x}" + TRACE_A[2:])) == 5


def test_arrow_columns_follow_the_exporter_conventions():
    batch = full_batch()
    table = batch_to_arrow(batch).to_pydict()
    assert table["SpanKind"] == ["Server", "Client", "Server", "Client", "Unspecified", "Internal"]
    assert table["StatusCode"] == ["Ok", "Error", "Unset", "Unset", "Unset", "Unset"]
    assert table["ServiceName"] == ["frontend"] * 2 + ["backend"] * 4
    assert table["Duration"][:1] == [250_000_123] and table["Duration"][4] == 0
    assert table["ScopeName"][:3] == ["io.opentelemetry.flask", "", "io.opentelemetry.flask"]
    types = dict(table["SpanAttributeTypes"][0])
    assert "http.method" not in types and "unicode" not in types  # strings are implicit
    assert types["http.status_code"] == "int" and types["payload"] == "bytes"
    assert types["nothing"] == "empty" and types["config"] == "kvlist"
    assert dict(table["ResourceAttributes"][2]) == {"service.name": "backend", "k8s.pod.name": "api-7"}
    assert table["AdjustedCount"] == [1.0] * 6 and table["SamplingPolicy"] == [""] * 6
    assert table["Events.Name"][1] == ["exception", "retry"]
    assert table["Links.Flags"][1] == [0x101]


def test_writer_and_reader_refuse_a_missing_table(client, database):
    with pytest.raises(StoreError):
        TraceWriter(client, database, "no_such_table")
    with pytest.raises(StoreError):
        TraceReader(client, database, "no_such_table")


def test_sampling_columns_round_trip(store):
    writer, reader = store
    batch = full_batch()
    batch.adjusted_count = [1.0, 4.0, 4.0, 2.5, 10.0, 1.0]
    batch.sampling_policy = ["", "errors", "errors", "probabilistic", "rate", ""]
    writer.write(batch)
    got = reader.get_trace(TRACE_A)
    assert got == expected_trace(batch, TRACE_A)
    assert [s.adjusted_count for s in got] == [1.0, 4.0, 4.0, 2.5, 10.0]
    assert [s.sampling_policy for s in got] == ["", "errors", "errors", "probabilistic", "rate"]
