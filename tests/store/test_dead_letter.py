"""The dead-letter file: one JSON line per span, OTLP/JSON that can be re-sent, a size bound."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import orjson

from spanhouse.model.otlp_encode import encode_request
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.model.otlp_proto import decode_request
from spanhouse.store.dead_letter import MAX_ERROR_BYTES, DeadLetterFile

from tests.store.batches import TRACE_A, full_batch


def records(dead: DeadLetterFile) -> list[dict]:
    return [orjson.loads(line) for line in dead.path.read_bytes().splitlines()]


def test_one_line_per_span_with_its_otlp_json(tmp_path):
    dead = DeadLetterFile(tmp_path)
    batch = full_batch()
    assert dead.append(batch, "Code: 469. DB::Exception: Constraint violated") == 6

    today = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    assert dead.path == tmp_path / "dead-letter" / f"spans-{today}.jsonl"
    got = records(dead)  # read right after append returned: written, flushed and fsync-ed
    assert [r["span_id"] for r in got] == batch.span_id
    assert [r["trace_id"] for r in got] == batch.trace_id
    assert [r["name"] for r in got] == batch.name
    assert [r["service"] for r in got] == [batch.service_of(i) for i in range(6)]
    assert got[0]["service"] == "frontend" and got[0]["trace_id"] == TRACE_A
    assert all(r["error"] == "Code: 469. DB::Exception: Constraint violated" for r in got)
    assert all(dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).tzinfo for r in got)
    assert all(r["time"].endswith("Z") for r in got)
    assert (dead.count, dead.bytes) == (6, dead.path.stat().st_size)

    # otlp_json is a request that the OTLP/HTTP JSON receiver takes back, span for span
    for i, record in enumerate(got):
        span = record["otlp_json"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert span["spanId"] == batch.span_id[i]  # hex ids, as OTLP/JSON wants
        decoded = decode_json_bytes(orjson.dumps(record["otlp_json"]))
        assert decoded.rejected == 0
        assert decoded.batch == decode_request(encode_request(batch.take([i]))).batch


def test_the_error_text_is_cut_to_one_kib(tmp_path):
    dead = DeadLetterFile(tmp_path)
    dead.append(full_batch().take([0]), "\u00e9" * 5000)
    error = records(dead)[0]["error"]
    assert len(error.encode()) <= MAX_ERROR_BYTES and error == "\u00e9" * (MAX_ERROR_BYTES // 2)


def test_the_size_bound_is_kept_and_the_overflow_counted_and_logged_once(tmp_path, caplog):
    batch = full_batch()
    probe = DeadLetterFile(tmp_path / "probe")
    probe.append(batch.take([5]), "x")
    line = probe.bytes  # one small span's line
    dead = DeadLetterFile(tmp_path, max_bytes=int(line * 3.5))
    caplog.set_level(logging.ERROR, logger="spanhouse.store.dead_letter")

    assert dead.append(batch.take([5, 5, 5, 5, 5]), "x") == 3
    assert dead.append(batch.take([5]), "x") == 0
    assert (dead.count, dead.dropped) == (3, 3)
    assert dead.bytes == dead.path.stat().st_size <= dead.max_bytes
    assert len(records(dead)) == 3
    assert len([r for r in caplog.records if "full" in r.getMessage()]) == 1

    # a reopened file counts what earlier runs wrote, and stays under the same bound
    again = DeadLetterFile(tmp_path, max_bytes=int(line * 3.5))
    assert (again.count, again.bytes) == (3, dead.bytes)
    assert again.append(batch.take([5]), "x") == 0
    # removing the files makes room again
    dead.path.unlink()
    assert again.append(batch.take([5]), "x") == 1 and len(records(again)) == 1


def test_a_span_that_cannot_be_encoded_is_still_recorded(tmp_path):
    batch = full_batch().take([5])
    batch.trace_id[0] = "not-hex"
    dead = DeadLetterFile(tmp_path)
    assert dead.append(batch, "bad trace id") == 1
    (record,) = records(dead)
    assert record["trace_id"] == "not-hex" and record["otlp_json"] is None
    assert "otlp_error" in record


def test_appends_from_many_threads_keep_whole_lines(tmp_path):
    dead = DeadLetterFile(tmp_path)
    batch = full_batch()

    def worker(k: int) -> None:
        for i in range(20):
            dead.append(batch.take([(k + i) % 6]), f"thread {k} span {i}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = records(dead)
    assert len(got) == dead.count == 160
    assert sorted(r["error"] for r in got) == sorted(
        f"thread {k} span {i}" for k in range(8) for i in range(20))
    assert dead.bytes == dead.path.stat().st_size
