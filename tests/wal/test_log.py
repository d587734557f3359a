"""The write-ahead log on its own: group commit, replay, torn tails, release, limits."""

from __future__ import annotations

import os
import threading

import pytest

from spanhouse.errors import Overloaded
from spanhouse.wal import records as rec
from spanhouse.wal.log import WriteAheadLog

MIB = 1024 * 1024


def opened(directory, **kw) -> WriteAheadLog:
    wal = WriteAheadLog(str(directory), **kw)
    wal.open()
    wal.start()
    return wal


def test_appended_records_are_replayed_in_order_after_a_restart(tmp_path):
    wal = opened(tmp_path)
    seqs = [wal.append(f"payload-{i}".encode(), spans=i + 1).result(5) for i in range(50)]
    assert seqs == list(range(1, 51))
    wal.close()

    again = WriteAheadLog(str(tmp_path))
    replay = again.open()
    assert [c.seq for c in replay.pending] == seqs
    assert [c.spans for c in replay.pending] == [i + 1 for i in range(50)]
    assert rec.read_payload(replay.pending[7].path, replay.pending[7].offset,
                            replay.pending[7].length) == b"payload-7"
    again.start()
    assert again.append(b"next", 1).result(5) == 51  # numbering goes on
    again.close()


def test_concurrent_appends_share_fsyncs_and_all_commit(tmp_path):
    wal = opened(tmp_path)
    committed: list[int] = []
    wal.on_commit = lambda entries: committed.extend(c.seq for c in entries)
    futures, lock = [], threading.Lock()

    def sender():
        for _ in range(100):
            f = wal.append(b"x" * 1000, 1)
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sorted(f.result(10) for f in futures)
    assert results == list(range(1, 801))
    assert sorted(committed) == results
    assert committed == sorted(committed), "the feeder must see records in log order"
    wal.close()


def test_a_torn_tail_is_cut_and_earlier_records_survive(tmp_path):
    wal = opened(tmp_path)
    for i in range(10):
        wal.append(b"y" * 100, 1).result(5)
    wal.close()
    segment = rec.list_segments(str(tmp_path))[-1]
    size = os.path.getsize(segment)
    with open(segment, "ab") as f:   # a record cut short by a crash mid-write
        f.write(rec.encode(rec.DATA, 11, 1, b"z" * 100) + b"z" * 40)
    replay = WriteAheadLog(str(tmp_path)).open()
    assert [c.seq for c in replay.pending] == list(range(1, 11))
    assert replay.torn_bytes == rec.HEADER_SIZE + 40
    assert os.path.getsize(segment) == size


def test_a_corrupt_record_ends_the_replay_there(tmp_path):
    wal = opened(tmp_path)
    for i in range(5):
        wal.append(b"abc" * 10, 1).result(5)
    wal.close()
    segment = rec.list_segments(str(tmp_path))[-1]
    data = bytearray(open(segment, "rb").read())
    third = 2 * (rec.HEADER_SIZE + 30) + rec.HEADER_SIZE + 3
    data[third] ^= 0xFF
    open(segment, "wb").write(bytes(data))
    replay = WriteAheadLog(str(tmp_path)).open()
    assert [c.seq for c in replay.pending] == [1, 2]


def test_release_skips_records_on_replay_and_deletes_whole_segments(tmp_path):
    wal = opened(tmp_path, max_bytes=64 * MIB, segment_bytes=MIB)
    payload = b"p" * (256 * 1024)
    for _ in range(20):   # ~5 MiB: several 1 MiB segments
        wal.append(payload, 1).result(5)
    segments_before = len(rec.list_segments(str(tmp_path)))
    assert segments_before >= 4
    wal.release(15)
    wal.append(b"after", 1).result(5)   # the RELEASED marker goes out with this group
    assert len(rec.list_segments(str(tmp_path))) < segments_before
    wal.close()
    replay = WriteAheadLog(str(tmp_path)).open()
    assert replay.released == 15
    assert [c.seq for c in replay.pending] == [16, 17, 18, 19, 20, 21]


def test_seals_are_replayed(tmp_path):
    wal = opened(tmp_path)
    for _ in range(6):
        wal.append(b"s", 1).result(5)
    wal.seal(1, 3).result(5)
    wal.seal(4, 6).result(5)
    wal.release(3)
    wal.close()
    replay = WriteAheadLog(str(tmp_path)).open()
    assert replay.seals == {4: 6}


def test_a_full_log_refuses_with_a_retryable_error(tmp_path):
    wal = opened(tmp_path, max_bytes=8 * MIB)
    with pytest.raises(Overloaded, match="write-ahead log full"):
        for _ in range(100):
            wal.append(b"q" * MIB, 1).result(5)
    used = wal.bytes_used
    assert used <= 8 * MIB
    wal.release(wal.last_seq)
    wal.append(b"small", 1).result(5)
    assert wal.bytes_used < used, "released segments free their room"
    wal.close()
