"""OTEP 235 values: vectors ported from open-telemetry/opentelemetry-collector-contrib
``pkg/sampling`` (threshold_test.go, randomness_test.go, probability_test.go,
oteltracestate_test.go, w3ctracestate_test.go)."""

from __future__ import annotations

import math

import pytest

from spanhouse.processors import otep235 as ot

M = ot.MAX_ADJUSTED_COUNT


def must(pair):
    value, err = pair
    assert err is None, err
    return value


# ------------------------------------------------------------------ threshold_test.go
def test_explicit_threshold():
    assert ot.unsigned_to_threshold(0x80000000000000) == 0x80000000000000
    with pytest.raises(ot.TValueSizeError):
        ot.unsigned_to_threshold(M)
    with pytest.raises(ot.TValueSizeError):
        ot.unsigned_to_threshold(M + 10)


def test_tvalue_probability_and_should_sample_examples():
    th = ot.tvalue_to_threshold("c")
    assert ot.threshold_probability(th) == 0.25
    assert ot.threshold_to_tvalue(th) == "c"
    assert ot.should_sample(th, ot.rvalue_to_randomness("d29d6a7215ced0"))
    assert ot.should_sample(th, ot.trace_id_to_randomness("abababababababababd29d6a7215ced0"))
    # and the other side of the boundary
    assert not ot.should_sample(th, th - 1)
    assert ot.should_sample(th, th)


def test_tvalue_special_values():
    assert ot.threshold_to_tvalue(ot.ALWAYS_SAMPLE) == "0"
    assert ot.threshold_to_tvalue(ot.NEVER_SAMPLE) == ""
    assert ot.tvalue_to_threshold("0") == ot.ALWAYS_SAMPLE
    assert ot.threshold_adjusted_count(ot.NEVER_SAMPLE) == 0
    assert ot.tvalue_to_threshold("1000") == ot.tvalue_to_threshold("1")  # trailing zeros
    with pytest.raises(ot.TValueEmptyError):
        ot.tvalue_to_threshold("")
    with pytest.raises(ot.TValueSizeError):
        ot.tvalue_to_threshold("f" * 15)
    for bad in ("0x1", "-1", "14.5", "1_0", " 1", "g"):
        with pytest.raises(ot.TraceStateSyntaxError):
            ot.tvalue_to_threshold(bad)


# ------------------------------------------------------------------ randomness_test.go
def test_explicit_randomness_and_examples():
    assert ot.unsigned_to_randomness(0x80000000000000) == 0x80000000000000
    with pytest.raises(ot.RValueSizeError):
        ot.unsigned_to_randomness(M)
    rnd = ot.trace_id_to_randomness("abababababababababd29d6a7215ced0")
    assert ot.randomness_to_rvalue(rnd) == "d29d6a7215ced0"
    assert ot.randomness_to_rvalue(ot.rvalue_to_randomness("d29d6a7215ced0")) == "d29d6a7215ced0"
    assert ot.randomness_to_rvalue(5) == "00000000000005"
    assert ot.randomness_to_rvalue(M) == ""
    with pytest.raises(ot.RValueSizeError):
        ot.rvalue_to_randomness("3")
    with pytest.raises(ot.TraceStateSyntaxError):
        ot.rvalue_to_randomness("0x111111111111")  # Go's ParseUint(base 16) has no prefix


# ------------------------------------------------------------------ probability_test.go
def test_probability_thirds_precision_3():
    assert [ot.threshold_to_tvalue(ot.probability_to_threshold(d / 3.0, 3))
            for d in (1.0, 2.0, 3.0)] == ["aab", "555", "0"]


def test_probability_one_third_full_precision():
    assert ot.threshold_to_tvalue(ot.probability_to_threshold(1.0 / 3.0)) == "aaaaaaaaaaaaac"


def _next_below(x: float, n: int) -> float:
    for _ in range(n):
        x = math.nextafter(x, 0)
    return x


@pytest.mark.parametrize("base, expected", [
    (15.0 / 16, ["1", "10000000000008", "1000000000001", "10000000000018"]),
    (8.0 / 16, ["8", "80000000000004", "80000000000008", "8000000000000c"]),
    (4.0 / 16, ["c", "c0000000000002", "c0000000000004", "c0000000000006"]),
    (2.0 / 16, ["e", "e0000000000001", "e0000000000002", "e0000000000003"]),
    (1.0 / 16, ["f", "f", "f0000000000001", "f0000000000001"]),
])
def test_probability_limited_precision(base, expected):
    got = [ot.threshold_to_tvalue(ot.probability_to_threshold(_next_below(base, n)))
           for n in range(4)]
    assert got == expected


def test_probability_very_small():
    probs = [ot.MIN_SAMPLING_PROBABILITY, 2 * 2.0**-56, 3 * 2.0**-56, 4 * 2.0**-56,
             8 * 2.0**-56, 16 * 2.0**-56]
    got = [ot.threshold_to_tvalue(ot.probability_to_threshold(p, 3)) for p in probs]
    assert got == ["ffffffffffffff", "fffffffffffffe", "fffffffffffffd", "fffffffffffffc",
                   "fffffffffffff8", "fffffffffffff"]


@pytest.mark.parametrize("prob, exact, rounded", [
    (1 - 0x456789a * 2.0**-28, "456789a", ["45678a", "45679", "4568", "456", "45", "4"]),
    (1 - 0x456789a * 2.0**-40, "000456789a",
     ["00045678a", "00045679", "0004568", "000456", "00045", "0004"]),
    (1 - 0x789abcdef * 2.0**-40, "0789abcdef",
     ["0789abcdef", "0789abcdf", "0789abce", "0789abd", "0789ac", "0789b", "078a", "079", "08"]),
    (1 - 0x12345678 * 2.0**-32, "12345678",
     ["1234568", "123456", "12345", "1234", "123", "12", "1"]),
    (1 - 0x80801 * 2.0**-28, "0080801", ["00808", "008"]),
    (1.0, "0", ["0"]),
])
def test_probability_to_threshold_with_precision(prob, exact, rounded):
    assert ot.threshold_to_tvalue(ot.probability_to_threshold(prob)) == exact
    for want in rounded:
        precision = len(want.lstrip("0")) if want != "0" else 0
        assert ot.threshold_to_tvalue(ot.probability_to_threshold(prob, precision)) == want


def test_probability_range():
    for bad in (0.0, ot.MIN_SAMPLING_PROBABILITY / 2, 1.0000001, -0.5):
        with pytest.raises(ot.ProbabilityRangeError):
            ot.probability_to_threshold(bad)


def test_go_round_half_away_from_zero():
    # Go's math.Round rounds halves away from zero, where Python's round() goes to even.
    assert ot._go_round(2.5) == 3 and ot._go_round(3.5) == 4 and ot._go_round(0.49999999999999994) == 0


# ------------------------------------------------------------------ oteltracestate_test.go
def test_otel_adjusted_count_example():
    w3c = must(ot.parse_w3c_tracestate("ot=th:c"))
    assert w3c.otel.tvalue == "c"
    assert w3c.otel.adjusted_count() == 4.0


def test_empty_otel_tracestate_is_error():
    _, err = ot.parse_otel_tracestate("")
    assert isinstance(err, ot.TraceStateSyntaxError)


def test_otel_tvalue_serialize():
    orig = "rv:10000000000000;th:3;a:b;c:d"
    otts = must(ot.parse_otel_tracestate(orig))
    assert otts.tvalue == "3"
    tv, has = otts.tvalue_threshold()
    assert has and ot.threshold_probability(tv) == 1 - 3 / 16
    assert otts.rvalue == "10000000000000"
    rv, has_rv = otts.rvalue_randomness()
    assert has_rv and ot.randomness_to_rvalue(rv) == "10000000000000"
    assert otts.has_any_value()
    assert otts.serialize() == orig


def test_otel_zero():
    otts = must(ot.parse_otel_tracestate("th:0"))
    assert otts.has_any_value() and otts.tvalue == "0"
    tv, has = otts.tvalue_threshold()
    assert has and ot.threshold_probability(tv) == 1.0
    assert otts.serialize() == "th:0"


def test_otel_rvalue_size_error_keeps_other_keys():
    otts, err = ot.parse_otel_tracestate("rv:3;p:2")
    assert isinstance(err, ot.RValueSizeError)
    assert "14 hex digits" in str(err)
    assert otts.rvalue == ""
    assert otts.extra == [("p", "2")]
    assert otts.serialize() == "p:2"


def test_otel_tvalue_update():
    otts = must(ot.parse_otel_tracestate("rv:abcdefabcdefab"))
    assert otts.tvalue == "" and otts.rvalue != ""
    otts.update_tvalue_with_sampling(ot.tvalue_to_threshold("3"))
    assert otts.tvalue == "3"
    assert ot.threshold_probability(otts.threshold) == 1 - 3 / 16
    assert otts.serialize() == "rv:abcdefabcdefab;th:3"


def test_otel_rt_update():
    otts = must(ot.parse_otel_tracestate("a:b"))
    assert otts.tvalue == "" and otts.rvalue == "" and otts.has_any_value()
    otts.update_tvalue_with_sampling(ot.tvalue_to_threshold("3"))
    otts.set_rvalue(ot.rvalue_to_randomness("00000000000003"))
    assert otts.serialize() == "rv:00000000000003;th:3;a:b"


def test_otel_rt_clear():
    otts = must(ot.parse_otel_tracestate("a:b;rv:12341234123412;th:1234"))
    otts.clear_tvalue()
    otts.clear_rvalue()
    assert otts.serialize() == "a:b"


NS = ""
OTEL_CASES = [
    ("th:2", NS, "2", [], None),
    ("th:ab", NS, "ab", [], None),
    ("th:abcdefabcdefab", NS, "abcdefabcdefab", [], None),
    ("th:1000", NS, "1000", [], None),
    ("", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:1;", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:1=p:2", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:1;p:2=s:3", NS, NS, [], ot.TraceStateSyntaxError),
    (":1;p:2=s:3", NS, NS, [], ot.TraceStateSyntaxError),
    (":;p:2=s:3", NS, NS, [], ot.TraceStateSyntaxError),
    (":;:", NS, NS, [], ot.TraceStateSyntaxError),
    (":", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:;p=1", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:$", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:0x1p+3", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:14.5", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:-1", NS, NS, [], ot.TraceStateSyntaxError),
    ("th:ffffffffffffffff", NS, NS, [], ot.TValueSizeError),
    ("th:100000000000000", NS, NS, [], ot.TValueSizeError),
    ("e100:1", NS, NS, ["e100:1"], None),
    ("e1:1;e2:2", NS, NS, ["e1:1", "e2:2"], None),
    ("th:2;extra:stuff", NS, "2", ["extra:stuff"], None),
    ("extra:stuff;th:2", NS, "2", ["extra:stuff"], None),
    ("e100:100;th:1;e101:101", NS, "1", ["e100:100", "e101:101"], None),
    ("th:1;e100:100;e101:101", NS, "1", ["e100:100", "e101:101"], None),
    ("e100:100;e101:101;th:1", NS, "1", ["e100:100", "e101:101"], None),
    ("1:1;u:V", NS, NS, [], ot.TraceStateSyntaxError),
    ("X:1;u:V", NS, NS, [], ot.TraceStateSyntaxError),
    ("x:1;u:V", NS, NS, ["x:1", "u:V"], None),
    ("rv:22222222222222;extra:stuff", "22222222222222", NS, ["extra:stuff"], None),
    ("extra:stuff;rv:22222222222222", "22222222222222", NS, ["extra:stuff"], None),
    ("rv:ffffffffffffff", "ffffffffffffff", NS, [], None),
    ("rv:100000000000000", NS, NS, [], ot.RValueSizeError),
    ("rv:fffffffffffffffff", NS, NS, [], ot.RValueSizeError),
    ("x:1;", NS, NS, [], ot.TraceStateSyntaxError),
    ("x:", NS, NS, ["x:"], None),
    ("x:0X1FFF;y:.-_-.;z:", NS, NS, ["x:0X1FFF", "y:.-_-.", "z:"], None),
    ("x1y2z3:1-2-3;y1:y_1;xy:-;th:50", NS, "50", ["x1y2z3:1-2-3", "y1:y_1", "xy:-"], None),
    ("x:" + "_" * 255, NS, NS, [], ot.TraceStateSizeError),
    ("x:" + "_" * 254, NS, NS, ["x:" + "_" * 254], None),
]


@pytest.mark.parametrize("text, rval, tval, extra, err_type", OTEL_CASES)
def test_parse_otel_tracestate(text, rval, tval, extra, err_type):
    otts, err = ot.parse_otel_tracestate(text)
    if err_type is None:
        assert err is None
    else:
        assert isinstance(err, err_type), err
    assert otts.rvalue == rval
    assert otts.tvalue == tval
    assert otts.extra == [tuple(e.split(":", 1)) for e in extra]
    if err_type is None:
        assert must(ot.parse_otel_tracestate(otts.serialize())) == otts


UPDATE_CASES = [
    ("th:8", 2, 2 / 16, True, "th:e", 8),
    ("th:8", 2, 14 / 16, False, "th:8", 2),
    ("th:f", 16, 8 / 16, False, "th:f", 16),
    ("th:0", 1, 1 / 16, True, "th:f", 16),
    ("", 0, 1 / 16, True, "th:f", 16),
    ("", 0, 1, True, "th:0", 1),
    ("th:8", 2, 1, False, "th:8", 2),
    ("th:0", 1, 2.0**-56, True, "th:ffffffffffffff", 2.0**56),
    ("th:555", 1 / (1 - 0x555 * 2.0**-12), 0x555 * 2.0**-12, True, "th:aab",
     1 / (1 - 0xaab * 2.0**-12)),
]


@pytest.mark.parametrize("text, adj_in, prob, ok, out, adj_out", UPDATE_CASES)
def test_update_tvalue_with_sampling(text, adj_in, prob, ok, out, adj_out):
    otts = must(ot.parse_otel_tracestate(text)) if text else ot.OTelTraceState()
    assert otts.adjusted_count() == adj_in
    threshold = ot.probability_to_threshold(prob)
    if ok:
        otts.update_tvalue_with_sampling(threshold)
    else:
        with pytest.raises(ot.InconsistentSamplingError):
            otts.update_tvalue_with_sampling(threshold)
    assert otts.serialize() == out
    assert otts.adjusted_count() == adj_out


# ------------------------------------------------------------------ w3ctracestate_test.go
def test_w3c_example():
    w3c = must(ot.parse_w3c_tracestate("ot=th:c;rv:d29d6a7215ced0;pn:abc,zz=vendorcontent"))
    assert w3c.otel.tvalue == "c"
    assert w3c.otel.rvalue == "d29d6a7215ced0"
    assert w3c.otel.extra == [("pn", "abc")]
    assert w3c.extra == [("zz", "vendorcontent")]
    # re-serialized the way upstream writes it: rv before th, ot first
    assert w3c.serialize() == "ot=rv:d29d6a7215ced0;th:c;pn:abc,zz=vendorcontent"


def test_w3c_empty_and_serialize_example():
    w3c = must(ot.parse_w3c_tracestate(""))
    assert (w3c.otel.tvalue, w3c.otel.rvalue, w3c.otel.extra, w3c.extra) == ("", "", [], [])
    assert not w3c.has_any_value()
    w3c.otel.update_tvalue_with_sampling(ot.probability_to_threshold(0.25))
    assert w3c.serialize() == "ot=th:c"


def test_w3c_ot_entry_moves_first():
    w3c = must(ot.parse_w3c_tracestate("a=1,ot=th:8,b=2"))
    assert w3c.serialize() == "ot=th:8,a=1,b=2"


W3C_CASES = [
    ("ot=th:1", NS, "1", None, None),
    (" ot=th:1 ", NS, "1", None, None),
    (" ot=th:1,other=value ", NS, "1", {"other": "value"}, None),
    (",,,", NS, NS, None, None),
    (" , ot=th:1, , other=value ", NS, "1", {"other": "value"}, None),
    ("ot=th:100;rv:abcdabcdabcdff", "abcdabcdabcdff", "100", None, None),
    (" ot=th:100;rv:abcdabcdabcdff", "abcdabcdabcdff", "100", None, None),
    ("ot=th:100;rv:abcdabcdabcdff ", "abcdabcdabcdff", "100", None, None),
    ("ot=rv:11111111111111", "11111111111111", NS, None, None),
    ("ot=rv:ffffffffffffff,unknown=value,other=something", "ffffffffffffff", NS,
     {"other": "something", "unknown": "value"}, None),
    ("-1=2", NS, NS, None, ot.TraceStateSyntaxError),
    ("=", NS, NS, None, ot.TraceStateSyntaxError),
    ("x" * 257 + "=v", NS, NS, None, ot.TraceStateSizeError),
    ("x" * 242 + "@y=v", NS, NS, None, ot.TraceStateSizeError),
    ("y@" + "x" * 15 + "=v", NS, NS, None, ot.TraceStateSizeError),
    ("x=" + "y" * 1023, NS, NS, None, ot.TraceStateSizeError),
    ("x=y," * 32 + "x=y", NS, NS, None, ot.TraceStateSizeError),
]


@pytest.mark.parametrize("text, rval, tval, extra, err_type", W3C_CASES)
def test_parse_w3c_tracestate(text, rval, tval, extra, err_type):
    w3c, err = ot.parse_w3c_tracestate(text)
    if err_type is None:
        assert err is None
    else:
        assert isinstance(err, err_type), err
    assert w3c.otel.rvalue == rval
    assert w3c.otel.tvalue == tval
    if rval or tval:
        assert w3c.otel.has_any_value() and w3c.has_any_value()
    if extra is not None:
        assert dict(w3c.extra) == extra
    if err_type is None:
        assert must(ot.parse_w3c_tracestate(w3c.serialize())) == w3c


@pytest.mark.parametrize("text", [
    "", "ot=th:1", " ot=th:1 ", " ot=th:1,other=value ", ",,,", " , ot=th:1, , other=value ",
    "ot=th:100;rv:abcdabcdabcdff", "ot=rv:11111111111111",
    "vendor1=value1,vendor2=value2,vendor3=value3", "tenant@system=value", "a=b", "abc=xyz",
    "key_with_underscore=value", "key-with-dash=value", "key*with*star=value",
    "key/with/slash=value", "0tenant@system=value", "key=value ", "key= value", "key=value\t",
])
def test_valid_w3c_syntax(text):
    _, err = ot.parse_w3c_tracestate(text)
    assert err is None


@pytest.mark.parametrize("text", [
    "-1=2", "=", "=value", "KEY=value", "key=", "1abc=value", "@system=value", "tenant@=value",
    "tenant@1system=v", "key=val\x00ue", "key=val\x1fue", "key\x00=value", "key=value\x7f",
    "a b=value",
])
def test_invalid_w3c_syntax(text):
    w3c, err = ot.parse_w3c_tracestate(text)
    assert isinstance(err, ot.TraceStateSyntaxError)
    assert not w3c.has_any_value()


def test_w3c_member_count_limit_counts_empty_members():
    # upstream's scanner counts every comma-separated piece, empty ones too, and fails on the 32nd
    assert ot.parse_w3c_tracestate("a=b" + "," * 30)[1] is None
    w3c, err = ot.parse_w3c_tracestate("a=b" + "," * 31)
    assert isinstance(err, ot.TraceStateSizeError)
    assert w3c.extra == [("a", "b")]  # the partial state upstream returns alongside the error


def test_w3c_bad_ot_entry_keeps_partial_state():
    w3c, err = ot.parse_w3c_tracestate("ot=rv:abababababababab;pn:1,zz=v")
    assert isinstance(err, ot.RValueSizeError)
    assert w3c.otel.rvalue == "" and w3c.otel.extra == [("pn", "1")]
    assert w3c.extra == [("zz", "v")]
