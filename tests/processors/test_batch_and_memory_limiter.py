"""The ``batch`` and ``memory_limiter`` processors (unit level, with a recording consumer)."""

from __future__ import annotations

import time

import pytest

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.processors.batch import BatchProcessor
from spanhouse.processors.memory_limiter import MIB, MemoryLimiter
from spanhouse.telemetry import Telemetry
from tests.processors.spans import Recorder, trace_batch


def batch_processor(**settings) -> tuple[BatchProcessor, Recorder]:
    processor = BatchProcessor.from_config("batch", Section(settings, "processors.batch"), Telemetry())
    recorder = Recorder()
    processor.start(recorder)
    return processor, recorder


def test_batch_sends_a_full_batch_at_once_and_the_rest_on_timeout():
    processor, out = batch_processor(send_batch_size=10, timeout="300ms")
    processor.consume(trace_batch([{"spans": 4}, {"spans": 4}]))   # 8 < 10: held
    assert out.spans == 0
    processor.consume(trace_batch([{"spans": 4}]))                 # 12 >= 10: sent now
    assert out.spans == 12 and len(out.batches) == 1
    processor.consume(trace_batch([{"spans": 3}]))
    assert out.spans == 12
    time.sleep(0.6)
    assert out.spans == 15
    processor.shutdown(5)


def test_batch_splits_above_send_batch_max_size():
    processor, out = batch_processor(send_batch_size=5, send_batch_max_size=5)
    processor.consume(trace_batch([{"spans": 12}]))
    assert [len(b) for b in out.batches] == [5, 5, 2]
    processor.shutdown(5)


def test_batch_refuses_the_request_that_downstream_refuses_and_keeps_earlier_ones():
    processor, out = batch_processor(send_batch_size=10, timeout="1h")
    out.refuse = 10**6   # downstream is overloaded
    processor.consume(trace_batch([{"spans": 9}]))      # held, acknowledged
    with pytest.raises(Overloaded):
        processor.consume(trace_batch([{"spans": 9}]))  # completes a batch: refused, not kept
    out.refuse = 0
    processor.shutdown(5)                               # the acknowledged 9 are delivered
    assert out.spans == 9


def test_batch_config_errors():
    with pytest.raises(ConfigError) as err:
        batch_processor(send_batch_size=10, send_batch_max_size=5)
    assert err.value.key == "processors.batch.send_batch_max_size"
    with pytest.raises(ConfigError) as err:
        batch_processor(timout="1s")
    assert 'did you mean "timeout"' in str(err.value)


def test_memory_limiter_refuses_above_the_soft_limit_and_recovers():
    usage = {"now": 100 * MIB}
    limiter = MemoryLimiter("memory_limiter", 0.05, 500 * MIB, 100 * MIB, Telemetry(),
                            read_usage=lambda: usage["now"])
    out = Recorder()
    limiter.start(out)
    limiter.consume(trace_batch([{}]))
    assert out.spans == 2
    usage["now"] = 450 * MIB            # above the soft limit (500 - 100)
    limiter.check()
    with pytest.raises(Overloaded):
        limiter.consume(trace_batch([{}]))
    usage["now"] = 300 * MIB
    limiter.check()
    limiter.consume(trace_batch([{}]))
    assert out.spans == 4
    limiter.shutdown(1)


def test_memory_limiter_config():
    def build(**s):
        return MemoryLimiter.from_config("m", Section(s, "processors.memory_limiter"), Telemetry())

    limiter = build(check_interval="1s", limit_mib=1000)
    assert limiter.hard_limit == 1000 * MIB and limiter.soft_limit == 800 * MIB  # spike 20%
    with pytest.raises(ConfigError) as err:
        build(limit_mib=100)
    assert err.value.key == "processors.memory_limiter.check_interval"
    with pytest.raises(ConfigError) as err:
        build(check_interval="1s", limit_mib=100, spike_limit_mib=100)
    assert err.value.key == "processors.memory_limiter.spike_limit_mib"
    with pytest.raises(ConfigError):
        build(check_interval="1s")
    assert build(check_interval="1s", limit_percentage=50, spike_limit_percentage=10).soft_limit > 0
