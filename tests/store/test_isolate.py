"""Failure classification and bad-span isolation, on the real embedded store (chDB).

Bad spans are made real: a CHECK constraint on ``otel_traces`` makes ClickHouse refuse them.
Store problems are real too: a dropped table, TOO_MANY_PARTS, a refused HTTP connection.
"""

from __future__ import annotations

import errno
import math

import clickhouse_connect
import orjson
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.batch import SpanBatch
from spanhouse.store.connection import open_client
from spanhouse.store.dead_letter import DeadLetterFile
from spanhouse.store.failures import (
    Failure, TransientStoreError, classify, describe, is_no_space,
)
from spanhouse.store.isolate import IsolationResult, write_isolating
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter

from tests.store.batches import T0, add_set, add_span

TABLE = "otel_traces"
POISON = (17, 500, 998)


def spans(n: int, poison=()) -> SpanBatch:
    """``n`` spans (ids 1..n in hex), the rows in ``poison`` named 'poison'."""
    b = SpanBatch()
    res = b.add_resource("checkout")
    add_set(b.resource_attributes, {"service.name": "checkout"})
    scope = b.add_scope("tests", "1.0")
    for i in range(n):
        add_span(b, trace_id=f"{i // 10 + 1:032x}", span_id=f"{i + 1:016x}",
                 name="poison" if i in poison else f"op-{i % 7}", kind=2,
                 start=T0 + i * 1000, end=T0 + i * 1000 + 500, resource=res, scope=scope,
                 attributes={"row": i})
    return b


@pytest.fixture
def store(client, database, open_store_client):
    create_schema(client, database, TABLE)
    return TraceWriter(open_store_client(), database, TABLE)


class Counting:
    """The real writer's ``write``, counting calls."""

    def __init__(self, writer, before=None):
        self.writer, self.calls, self.before = writer, [], before

    def __call__(self, batch):
        if self.before:
            self.before(len(self.calls))
        self.calls.append(len(batch))
        return self.writer.write(batch)


def stored(client, database) -> tuple[int, int, int]:
    """(rows, distinct span ids, poison rows) in the traces table."""
    return client.query(
        f"SELECT count(), uniqExact(SpanId), countIf(SpanName = 'poison') "
        f"FROM `{database}`.{TABLE}").result_rows[0]


def add_check(client, database, condition: str) -> None:
    client.command(f"ALTER TABLE `{database}`.{TABLE} ADD CONSTRAINT c CHECK {condition}")


# ---------------------------------------------------------------------------- isolation
def test_poison_spans_are_dead_lettered_and_the_rest_stored(store, client, database, tmp_path):
    add_check(client, database, "SpanName != 'poison'")
    batch = spans(1000, POISON)
    dead = DeadLetterFile(tmp_path)
    write = Counting(store)

    result = write_isolating(write, batch, dead.append)

    assert result.written == 997 and result.dead == 3
    assert stored(client, database) == (997, 997, 0)
    assert dead.count == 3
    records = [orjson.loads(line) for line in dead.path.read_bytes().splitlines()]
    assert [r["span_id"] for r in records] == [f"{i + 1:016x}" for i in POISON]
    assert all("VIOLATED_CONSTRAINT" in r["error"] for r in records)
    # O(k log n): at most 1 + 2k*ceil(log2 n) INSERTs
    assert result.inserts == len(write.calls) <= 1 + 2 * 3 * math.ceil(math.log2(1000))
    assert sum(write.calls) < 1000 * (math.ceil(math.log2(1000)) + 1)


def test_a_clean_batch_is_one_insert(store, client, database):
    write = Counting(store)
    assert write_isolating(write, spans(300), _no_dead) == IsolationResult(300, 0, 1)
    assert write.calls == [300]
    assert stored(client, database) == (300, 300, 0)


def test_every_span_refused_is_a_store_problem_nothing_dead_lettered(store, client, database,
                                                                      tmp_path):
    add_check(client, database, "SpanName = 'never'")
    dead = DeadLetterFile(tmp_path)
    write = Counting(store)
    with pytest.raises(TransientStoreError) as caught:
        write_isolating(write, spans(40), dead.append)
    err = caught.value
    assert (err.remaining, err.written, err.dead, err.no_space) == ([(0, 40)], 0, 0, False)
    assert err.refused and "VIOLATED_CONSTRAINT" in str(err)
    assert classify(err) is Failure.TRANSIENT
    assert len(write.calls) <= 2 * 40 - 1
    assert dead.count == 0 and not dead.path.exists()
    assert stored(client, database)[0] == 0


def test_a_lone_bad_span_is_dead_lettered_once_refusals_are_trusted(store, client, database,
                                                                     tmp_path):
    """A batch made only of bad spans looks like a refusing store; the caller escapes the
    loop by trusting the refusals after repeated attempts."""
    add_check(client, database, "SpanName != 'poison'")
    dead = DeadLetterFile(tmp_path)
    batch = spans(2, (0, 1))
    with pytest.raises(TransientStoreError) as caught:
        write_isolating(store.write, batch, dead.append)
    assert caught.value.refused and dead.count == 0

    result = write_isolating(store.write, batch, dead.append, trust_refusals=True)
    assert (result.written, result.dead) == (0, 2)
    assert dead.count == 2 and stored(client, database)[0] == 0


def test_the_insert_budget_bounds_a_batch_that_never_succeeds(store, client, database):
    add_check(client, database, "SpanName = 'never'")
    write = Counting(store)
    with pytest.raises(TransientStoreError) as caught:
        write_isolating(write, spans(1000), _no_dead, max_inserts=50)
    assert len(write.calls) == 50
    assert caught.value.remaining == [(0, 1000)] and caught.value.dead == 0
    assert caught.value.refused


def test_a_store_error_is_raised_at_once_without_bisecting(store, client, database):
    client.command(f"DROP TABLE `{database}`.{TABLE}")  # UNKNOWN_TABLE from now on
    write = Counting(store)
    with pytest.raises(TransientStoreError) as caught:
        write_isolating(write, spans(100, (3,)), _no_dead)
    assert write.calls == [100]
    assert caught.value.remaining == [(0, 100)]
    assert classify(caught.value.__cause__) is Failure.TRANSIENT


def test_retrying_the_remaining_ranges_stores_each_span_once(store, client, database,
                                                              tmp_path):
    """A store failure in the middle of an isolation (TOO_MANY_PARTS, for real), then a retry
    of ``err.unwritten(batch)``: every good span stored exactly once, every bad one dead."""
    add_check(client, database, "SpanName != 'poison'")
    client.command(f"SYSTEM STOP MERGES `{database}`.{TABLE}")
    table = f"`{database}`.{TABLE}"

    def break_after_first_success(calls_so_far: int) -> None:
        if stored(client, database)[0]:  # once some part is in, the store "fills up"
            client.command(f"ALTER TABLE {table} MODIFY SETTING parts_to_delay_insert = 0, "
                           "parts_to_throw_insert = 1")

    batch = spans(1000, POISON)
    dead = DeadLetterFile(tmp_path)
    with pytest.raises(TransientStoreError) as caught:
        write_isolating(Counting(store, break_after_first_success), batch, dead.append)
    err = caught.value
    assert "TOO_MANY_PARTS" in str(err) and not err.refused
    rows_before = stored(client, database)[0]
    assert rows_before == err.written > 0
    assert sum(hi - lo for lo, hi in err.remaining) + err.written + err.dead == 1000

    client.command(f"ALTER TABLE {table} RESET SETTING parts_to_delay_insert, "
                   "parts_to_throw_insert")
    rest = err.unwritten(batch)
    result = write_isolating(Counting(store), rest, dead.append)
    assert result.written + err.written == 997
    assert stored(client, database) == (997, 997, 0)
    assert dead.count == 3


def test_a_failing_dead_letter_keeps_the_span_for_a_retry(store, client, database):
    add_check(client, database, "SpanName != 'poison'")

    def disk_full(batch, error):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(TransientStoreError) as caught:
        write_isolating(store.write, spans(8, (5,)), disk_full)
    err = caught.value
    assert err.no_space and err.remaining == [(5, 8)] and err.dead == 0
    assert stored(client, database)[0] == 5


def _no_dead(batch, error):
    raise AssertionError(f"nothing should be dead-lettered: {error}")


# ---------------------------------------------------------------------------- classification
def _writer_error(writer, batch) -> StoreError:
    with pytest.raises(StoreError) as caught:
        writer.write(batch)
    return caught.value


def test_a_constraint_violation_is_data(store, client, database):
    add_check(client, database, "SpanName != 'poison'")
    exc = _writer_error(store, spans(3, (1,)))
    assert classify(exc) is Failure.DATA
    assert describe(exc) == "VIOLATED_CONSTRAINT (469)"
    assert not is_no_space(exc)


def test_too_many_parts_and_a_missing_table_are_transient(store, client, database):
    client.command(f"SYSTEM STOP MERGES `{database}`.{TABLE}")
    store.write(spans(2))
    client.command(f"ALTER TABLE `{database}`.{TABLE} MODIFY SETTING parts_to_delay_insert = 0, "
                   "parts_to_throw_insert = 1")
    exc = _writer_error(store, spans(2))
    assert (classify(exc), describe(exc)) == (Failure.TRANSIENT, "TOO_MANY_PARTS (252)")
    client.command(f"DROP TABLE `{database}`.{TABLE}")
    exc = _writer_error(store, spans(2))
    assert (classify(exc), describe(exc)) == (Failure.TRANSIENT, "UNKNOWN_TABLE (60)")


@pytest.mark.parametrize("sql, expected, name", [
    ("SELECT CAST('abc' AS UInt32)", Failure.DATA, "CANNOT_PARSE_TEXT (6)"),
    ("SELECT accurateCast(300, 'UInt8')", Failure.DATA, "CANNOT_CONVERT_TYPE (70)"),
    ("SELECT groupArray(number) FROM numbers(10000000) SETTINGS max_memory_usage = 1000000",
     Failure.TRANSIENT, "MEMORY_LIMIT_EXCEEDED (241)"),
    ("SELECT sleep(0.3) SETTINGS max_execution_time = 0.05", Failure.TRANSIENT,
     "TIMEOUT_EXCEEDED (159)"),
])
def test_real_chdb_errors(client, sql, expected, name):
    with pytest.raises(DatabaseError) as caught:
        client.query(sql)
    assert (classify(caught.value), describe(caught.value)) == (expected, name)


def test_a_refused_connection_is_transient():
    with pytest.raises(Exception) as caught:
        clickhouse_connect.get_client(host="127.0.0.1", port=1, connect_timeout=2)
    assert classify(caught.value) is Failure.TRANSIENT
    with pytest.raises(StoreError) as caught:  # through Spanhouse's own opening
        open_client("http://127.0.0.1:1")
    assert classify(caught.value) is Failure.TRANSIENT
    assert not is_no_space(caught.value)


def test_no_space_texts():
    not_enough = DatabaseError(
        "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. "
        "(NOT_ENOUGH_SPACE)", code=243, name="NOT_ENOUGH_SPACE")
    cannot_write = RuntimeError(
        "Code: 75. DB::Exception: Cannot write to file /data/tmp_insert/data.bin, errno: 28, "
        "strerror: No space left on device. (CANNOT_WRITE_TO_FILE_DESCRIPTOR)")
    for cause in (not_enough, cannot_write, OSError(errno.ENOSPC, "No space left on device")):
        try:
            raise StoreError("insert failed") from cause
        except StoreError as exc:
            assert is_no_space(exc) and classify(exc) is Failure.TRANSIENT


def test_other_errors():
    assert classify(InvalidInput("malformed span batch")) is Failure.DATA
    assert classify(RuntimeError("something new")) is Failure.UNKNOWN
    # what was being handled when an error was raised is not its cause
    try:
        try:
            raise TransientStoreError("earlier attempt")
        except TransientStoreError:
            raise InvalidInput("bad span")
    except InvalidInput as exc:
        assert classify(exc) is Failure.DATA
