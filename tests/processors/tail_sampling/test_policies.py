"""Every basic policy: a trace it keeps and one it does not, plus upstream's edge cases
(typed getters, resource vs span attributes, invert_match)."""

from __future__ import annotations

import pytest

from spanhouse.model.enums import StatusCode as Status
from spanhouse.processors.tail_sampling.policies import (
    AlwaysSample, BooleanAttribute, BytesLimiting, Latency, NumericAttribute, RateLimiting,
    SpanCount, StatusCode, StringAttribute, TraceFlags, TraceState,
)
from spanhouse.processors.tail_sampling.policies.attributes import parse_trace_state
from spanhouse.processors.tail_sampling.verdict import Decision

from .traces import MS, T0, FakeClock, span, trace, trace_in_parts

S, N = Decision.Sampled, Decision.NotSampled
IS, INS = Decision.InvertSampled, Decision.InvertNotSampled


def d(policy, tr):
    return policy.evaluate(tr).decision


def test_always_sample():
    assert d(AlwaysSample("a"), trace(span())) is S
    assert d(AlwaysSample("a"), trace()) is S


# ------------------------------------------------------------------ latency (latency_test.go)
@pytest.mark.parametrize("spans, expected", [
    # one span shorter than the threshold
    ([span(duration_ms=4999)], N),
    # exactly the threshold: >= samples
    ([span(duration_ms=5000)], S),
    # two short spans whose union is long enough
    ([span(start=T0, duration_ms=3000), span(start=T0 + 3000 * MS, duration_ms=2500)], S),
    # overlapping spans, union too short
    ([span(start=T0, duration_ms=3000), span(start=T0 + 1000 * MS, duration_ms=3000)], N),
])
def test_latency_threshold(spans, expected):
    assert d(Latency("l", 5000), trace(*spans)) is expected


@pytest.mark.parametrize("duration_ms, expected", [(5000, N), (5001, S), (10000, S), (10001, N)])
def test_latency_upper_bound_is_lower_exclusive_upper_inclusive(duration_ms, expected):
    assert d(Latency("l", 5000, 10000), trace(span(duration_ms=duration_ms))) is expected


def test_latency_upper_bound_is_checked_span_by_span_as_upstream():
    # first span alone is 6 s (inside (5, 10]); with the second one the trace is 20 s long
    tr = trace(span(duration_ms=6000), span(start=T0, duration_ms=20000))
    assert d(Latency("l", 5000, 10000), tr) is S
    tr = trace(span(start=T0, duration_ms=20000), span(duration_ms=6000))
    assert d(Latency("l", 5000, 10000), tr) is N


def test_latency_spans_across_parts():
    tr = trace_in_parts([span(start=T0, duration_ms=10)], [span(start=T0 + 600 * MS, duration_ms=10)])
    assert d(Latency("l", 600), tr) is S
    assert d(Latency("l", 611), tr) is N


# ------------------------------------------------------------------ span_count
@pytest.mark.parametrize("count, lo, hi, expected", [
    (3, 2, 0, S), (1, 2, 0, N), (3, 2, 3, S), (4, 2, 3, N), (2, 2, 2, S),
])
def test_span_count(count, lo, hi, expected):
    assert d(SpanCount("c", lo, hi), trace(*[span() for _ in range(count)])) is expected


# ------------------------------------------------------------------ trace_flags / status_code
def test_trace_flags_looks_at_the_sampled_bit_of_the_low_byte():
    assert d(TraceFlags("f"), trace(span(flags=0), span(flags=0x301))) is S
    assert d(TraceFlags("f"), trace(span(flags=0), span(flags=0x300))) is N


def test_status_code():
    policy = StatusCode("s", ["ERROR", "UNSET"])
    assert d(policy, trace(span(status=Status.OK), span(status=Status.ERROR))) is S
    assert d(policy, trace(span(status=Status.OK))) is N
    assert d(StatusCode("s", ["OK"]), trace(span(status=Status.OK))) is S


# ------------------------------------------------------------------ numeric_attribute
def test_numeric_attribute_in_range_on_span_or_resource():
    policy = NumericAttribute("n", "http.status_code", 400, 599)
    assert d(policy, trace(span(attributes={"http.status_code": 503}))) is S
    assert d(policy, trace(span(attributes={"http.status_code": 200}))) is N
    assert d(policy, trace(span(), resources=[{"http.status_code": 500}])) is S
    assert d(policy, trace(span(attributes={"other": 500}))) is N


def test_numeric_attribute_open_bounds():
    assert d(NumericAttribute("n", "v", 10, None), trace(span(attributes={"v": 2 ** 62}))) is S
    assert d(NumericAttribute("n", "v", None, 10), trace(span(attributes={"v": -(2 ** 62)}))) is S
    assert d(NumericAttribute("n", "v", None, 10), trace(span(attributes={"v": 11}))) is N


def test_numeric_attribute_reads_non_int_values_as_zero_like_pdata_int():
    # upstream calls Value.Int(): a string/double attribute reads as 0
    assert d(NumericAttribute("n", "v", 100, 200), trace(span(attributes={"v": "150"}))) is N
    assert d(NumericAttribute("n", "v", 100, 200), trace(span(attributes={"v": 150.0}))) is N
    assert d(NumericAttribute("n", "v", None, 10), trace(span(attributes={"v": "150"}))) is S


def test_numeric_attribute_resource_and_span_are_checked_independently():
    # span value out of range, resource value in range: the resource samples the trace
    tr = trace(span(attributes={"v": 1}), resources=[{"v": 50}])
    assert d(NumericAttribute("n", "v", 10, 100), tr) is S


def test_numeric_attribute_invert_match():
    policy = NumericAttribute("n", "v", 400, 599, invert_match=True)
    assert d(policy, trace(span(attributes={"v": 200}))) is IS
    assert d(policy, trace(span(attributes={"v": 200}), span(attributes={"v": 500}))) is INS
    assert d(policy, trace(span())) is IS                       # key absent: sampled
    assert d(policy, trace(span(), resources=[{"v": 450}])) is INS


# ------------------------------------------------------------------ string_attribute
def test_string_attribute_exact():
    policy = StringAttribute("s", "service.name", ["checkout", "cart"])
    assert d(policy, trace(span(attributes={"service.name": "cart"}))) is S
    assert d(policy, trace(span(attributes={"service.name": "carts"}))) is N
    assert d(policy, trace(span(), resources=[{"service.name": "checkout"}])) is S


def test_string_attribute_only_matches_string_values():
    policy = StringAttribute("s", "v", ["1", "true"])
    assert d(policy, trace(span(attributes={"v": 1}), span(attributes={"v": True}))) is N
    assert d(policy, trace(span(attributes={"v": "1"}))) is S


def test_string_attribute_regex_is_a_search_not_a_full_match():
    policy = StringAttribute("s", "http.url", [r"/api/v\d+/"], enabled_regex_matching=True)
    assert d(policy, trace(span(attributes={"http.url": "https://x/api/v2/users"}))) is S
    assert d(policy, trace(span(attributes={"http.url": "https://x/web"}))) is N
    assert d(policy, trace(span(attributes={"http.url": "https://x/api/v2/users"}))) is S  # cached


def test_string_attribute_regex_on_non_string_resource_value_sees_empty_string():
    # upstream: resource side has no empty-string guard, span side has
    policy = StringAttribute("s", "v", ["^$"], enabled_regex_matching=True)
    assert d(policy, trace(span(attributes={"v": 5}))) is N
    assert d(policy, trace(span(), resources=[{"v": 5}])) is S


def test_string_attribute_invert_match():
    policy = StringAttribute("s", "env", ["test"], invert_match=True)
    assert d(policy, trace(span(attributes={"env": "prod"}))) is IS
    assert d(policy, trace(span(attributes={"env": "prod"}), span(attributes={"env": "test"}))) is INS
    assert d(policy, trace(span())) is IS


def test_string_attribute_empty_values_are_ignored():
    assert d(StringAttribute("s", "v", [""]), trace(span(attributes={"v": ""}))) is N


# ------------------------------------------------------------------ boolean_attribute
def test_boolean_attribute():
    policy = BooleanAttribute("b", "error", True)
    assert d(policy, trace(span(attributes={"error": True}))) is S
    assert d(policy, trace(span(attributes={"error": False}))) is N
    assert d(policy, trace(span(attributes={"error": "true"}))) is N   # a string is not a bool
    assert d(policy, trace(span(), resources=[{"error": True}])) is S


def test_boolean_attribute_false_matches_non_bool_values_like_pdata_bool():
    assert d(BooleanAttribute("b", "x", False), trace(span(attributes={"x": "yes"}))) is S
    assert d(BooleanAttribute("b", "x", False), trace(span())) is N


def test_boolean_attribute_invert_match():
    policy = BooleanAttribute("b", "debug", True, invert_match=True)
    assert d(policy, trace(span(attributes={"debug": False}))) is IS
    assert d(policy, trace(span(attributes={"debug": True}))) is INS


# ------------------------------------------------------------------ trace_state
def test_trace_state():
    policy = TraceState("t", "vendor", ["value1", "value2"])
    assert d(policy, trace(span(trace_state="vendor=value1"))) is S
    assert d(policy, trace(span(trace_state="a=b, vendor=value2"))) is S
    assert d(policy, trace(span(trace_state="vendor=value3"))) is N
    assert d(policy, trace(span(trace_state="other=value1"))) is N
    assert d(policy, trace(span(trace_state="vendor=value1,vendor=value2"))) is N  # invalid: duplicate


def test_trace_state_ignores_values_making_the_member_too_long():
    long_value = "v" * 250
    assert d(TraceState("t", "vendorx", [long_value]),
             trace(span(trace_state=f"vendorx={long_value}"))) is N


def test_parse_trace_state():
    assert parse_trace_state("") == {}
    assert parse_trace_state("a=1, b=2") == {"a": "1", "b": "2"}
    assert parse_trace_state("t@vendor=x") == {"t@vendor": "x"}
    assert parse_trace_state("A=1") is None
    assert parse_trace_state("a=") is None
    assert parse_trace_state(",".join(f"k{i}=v" for i in range(33))) is None


# ------------------------------------------------------------------ rate_limiting / bytes_limiting
def test_rate_limiting_token_bucket():
    clock = FakeClock()
    policy = RateLimiting("r", 3, clock)               # 3 spans/s, burst 6
    three = trace(span(), span(), span())
    assert d(policy, three) is S
    assert d(policy, three) is S                       # the burst: 6 spans at once
    assert d(policy, three) is N
    clock.advance(0.5)                                 # 1.5 tokens back
    assert d(policy, trace(span())) is S
    assert d(policy, trace(span())) is N
    clock.advance(10)                                  # refills to the burst, not beyond
    assert d(policy, trace(*[span() for _ in range(6)])) is S
    assert d(policy, trace(span())) is N


def test_rate_limiting_trace_larger_than_burst_never_passes():
    policy = RateLimiting("r", 2, FakeClock())
    assert d(policy, trace(*[span() for _ in range(5)])) is N
    assert d(policy, trace(*[span() for _ in range(4)])) is S


def test_rate_limiting_zero():
    assert d(RateLimiting("r", 0, FakeClock()), trace(span())) is N


def test_bytes_limiting():
    clock = FakeClock()
    policy = BytesLimiting("b", 1000, 0, clock)        # burst defaults to 2000
    assert d(policy, trace(span(), size_bytes=1500)) is S
    assert d(policy, trace(span(), size_bytes=600)) is N
    clock.advance(0.1)
    assert d(policy, trace(span(), size_bytes=600)) is S
    assert d(BytesLimiting("b", 1000, 500, FakeClock()), trace(span(), size_bytes=600)) is N
