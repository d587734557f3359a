"""The tail-sampling processor: timing, late spans, caches, limits, shutdown, and the
sampling-aware fields it writes (unit level: a fake clock, ticks run by hand)."""

from __future__ import annotations

import pytest

from spanhouse.config.section import Section
from spanhouse.errors import Overloaded
from spanhouse.processors.tail_sampling.processor import TailSamplingProcessor
from spanhouse.telemetry import Telemetry
from tests.processors.spans import Recorder, trace_batch

ERRORS = {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}
SLOW = {"name": "slow", "type": "latency", "latency": {"threshold_ms": 1000}}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(policies=(ERRORS,), **settings):
    clock = Clock()
    telemetry = Telemetry()
    section = Section({"decision_wait": "10s", "policies": list(policies), **settings},
                      "processors.tail_sampling")
    processor = TailSamplingProcessor.from_config("tail_sampling", section, telemetry)
    processor.clock = clock
    processor.tick_s = 3600  # ticks are run by the test
    out = Recorder()
    processor.start(out)
    return processor, out, clock, telemetry


def metric(telemetry: Telemetry, name: str, **labels) -> float:
    return telemetry.registry.get_sample_value(name, labels) or 0.0


def test_decides_after_decision_wait_keeping_matches_only():
    p, out, clock, telemetry = make()
    error, ok = {"error": True}, {}
    p.consume(trace_batch([error, ok]))
    clock.now += 9
    p.tick()
    assert out.spans == 0                         # not yet due
    clock.now += 1.5
    p.tick()
    assert out.trace_ids == {error["id"]}
    assert metric(telemetry, "spanhouse_tail_sampling_traces_decided_total",
                  processor="tail_sampling", policy="errors", decision="sampled") == 1
    assert metric(telemetry, "spanhouse_spans_dropped_total",
                  processor="tail_sampling", reason="not_sampled") == 2
    p.shutdown(5)


def test_kept_spans_record_policy_and_adjusted_count():
    half = {"name": "half", "type": "probabilistic", "probabilistic": {"sampling_percentage": 50}}
    p, out, clock, _ = make([ERRORS, half])
    traces = [{"error": True}] + [{} for _ in range(200)]
    p.consume(trace_batch(traces))
    clock.now += 11
    p.tick()
    by_trace = {}
    for b in out.batches:
        for t, c, pol in zip(b.trace_id, b.adjusted_counts(), b.sampling_policies()):
            by_trace[t] = (c, pol)
    assert by_trace[traces[0]["id"]] == (1.0, "errors")
    others = [v for t, v in by_trace.items() if t != traces[0]["id"]]
    assert 60 < len(others) < 140 and all(v == (2.0, "half") for v in others)
    p.shutdown(5)


def test_late_spans_follow_the_decision_kept_in_the_map():
    p, out, clock, telemetry = make()
    error, ok = {"error": True}, {}
    p.consume(trace_batch([error, ok]))
    clock.now += 11
    p.tick()
    before = out.spans
    p.consume(trace_batch([{"id": error["id"], "root": False, "spans": 3},
                           {"id": ok["id"], "root": False, "spans": 3}]))
    p.tick()
    assert out.spans == before + 2                # the kept trace's 2 late spans, not the other's
    late = out.batches[-1]
    assert set(late.trace_id) == {error["id"]} and late.sampling_policies() == ["errors"] * 2
    assert metric(telemetry, "spanhouse_tail_sampling_late_spans_total",
                  processor="tail_sampling", decision="not_sampled") == 2
    p.shutdown(5)


def test_decision_caches_answer_late_spans_after_the_trace_is_released():
    p, out, clock, _ = make(decision_cache={"sampled_cache_size": 10, "non_sampled_cache_size": 10})
    error, ok = {"error": True}, {}
    p.consume(trace_batch([error, ok]))
    clock.now += 11
    p.tick()
    assert len(p._traces) == 0                    # released: decisions live in the caches
    p.consume(trace_batch([{"id": error["id"], "root": False, "spans": 2},
                           {"id": ok["id"], "root": False, "spans": 2}]))
    p.tick()
    assert out.trace_ids == {error["id"]} and out.spans == 3
    p.shutdown(5)


def test_num_traces_bounds_the_buffer_and_evictions_are_counted():
    p, out, clock, telemetry = make(num_traces=10)
    traces = [{"error": True} for _ in range(25)]
    for t in traces:
        p.consume(trace_batch([t]))
    assert len(p._traces) == 10
    assert metric(telemetry, "spanhouse_tail_sampling_traces_evicted_total",
                  processor="tail_sampling", reason="num_traces") == 15
    clock.now += 11
    p.tick()
    assert out.trace_ids == {t["id"] for t in traces[-10:]}   # the newest survived
    p.shutdown(5)


def test_block_on_overflow_refuses_with_a_retryable_error():
    p, out, clock, _ = make(num_traces=3, block_on_overflow=True)
    p.consume(trace_batch([{}, {}, {}]))
    with pytest.raises(Overloaded):
        p.consume(trace_batch([{}]))
    clock.now += 11
    p.tick()
    p.consume(trace_batch([{}]))                  # room again after the decisions
    p.shutdown(5)


def test_maximum_trace_size_bytes_drops_a_giant_trace_at_once():
    p, out, clock, telemetry = make(maximum_trace_size_bytes=2000)
    big, small = {"error": True, "spans": 60}, {"error": True}
    p.consume(trace_batch([big, small]))
    assert metric(telemetry, "spanhouse_tail_sampling_traces_evicted_total",
                  processor="tail_sampling", reason="too_large") == 1
    clock.now += 11
    p.tick()
    assert out.trace_ids == {small["id"]}
    p.shutdown(5)


def test_decision_wait_after_root_received_decides_sooner():
    p, out, clock, _ = make(decision_wait_after_root_received="1s")
    rootless, rooted = {"error": True, "root": False}, {"error": True}
    p.consume(trace_batch([rootless, rooted]))
    clock.now += 1.5
    p.tick()
    assert out.trace_ids == {rooted["id"]}
    clock.now += 9
    p.tick()
    assert out.trace_ids == {rooted["id"], rootless["id"]}
    p.shutdown(5)


@pytest.mark.parametrize("drop", [False, True])
def test_pending_traces_at_shutdown(drop):
    p, out, clock, _ = make(drop_pending_traces_on_shutdown=drop)
    error = {"error": True}
    p.consume(trace_batch([error]))
    p.shutdown(5)
    assert out.trace_ids == (set() if drop else {error["id"]})


def test_sample_on_first_match_names_the_first_matching_policy():
    p, out, clock, _ = make([SLOW, ERRORS], sample_on_first_match=True)
    both = {"error": True, "duration_ms": 1500}
    p.consume(trace_batch([both]))
    clock.now += 11
    p.tick()
    assert set(out.batches[0].sampling_policies()) == {"slow"}
    p.shutdown(5)
