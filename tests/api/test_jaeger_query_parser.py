"""``jaeger_query``: the cases of Jaeger's ``query_parser_test.go`` (jaegertracing/jaeger
``cmd/jaeger/internal/extension/jaegerquery/internal/``), then Go's parsers, then Spanhouse's
additions (limits, hostile values, status tags, lookback)."""

from __future__ import annotations

import re

import pytest

from spanhouse.api.jaeger_params import parse_span_kind, parse_trace_id
from spanhouse.api.jaeger_query import (
    DEFAULT_DEPENDENCY_LOOKBACK_NS, DEFAULT_TRACE_QUERY_LOOKBACK_NS, QueryParser,
)
from spanhouse.api.params import Params
from spanhouse.gotime import go_atoi, go_parse_bool, go_parse_int, parse_rfc3339
from spanhouse.gotime import parse_duration_ns as go_parse_duration
from spanhouse.errors import InvalidInput
from spanhouse.query.model import MAX_LIMIT, AttributeFilter, SearchQuery

NOW = 1_700_000_000_123_456_789
SECOND = 10**9
ERR_PARSE_INT = 'strconv.ParseInt: parsing "string": invalid syntax'


def parser() -> QueryParser:
    return QueryParser(now_ns=lambda: NOW)


def parse(url: str):
    return parser().parse_trace_query_params(url.partition("?")[2])


def q(**kw) -> SearchQuery:
    base = dict(start_ns=0, end_ns=0, service="service", operation="operation", limit=200)
    base.update(kw)
    return SearchQuery(**base)


def kv(*pairs) -> tuple:
    return tuple(AttributeFilter(k, v) for k, v in pairs)


# TestParseTraceQuery: (url, error regexp) ---------------------------------------------------
ERROR_CASES = [
    ("", "parameter 'service' is required"),
    ("x?service=service&start=string", ERR_PARSE_INT),
    ("x?service=service&end=string", ERR_PARSE_INT),
    ("x?service=service&limit=string", ERR_PARSE_INT),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&minDuration=20",
     r"""unable to parse param 'minDuration': time: missing unit in duration "?20"?$"""),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&minDuration=20s&maxDuration=30",
     r"""unable to parse param 'maxDuration': time: missing unit in duration "?30"?$"""),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&tag=k:v&tag=x:y&tag=k&log=k:v&log=k",
     "malformed 'tag' parameter, expecting key:value, received: k"),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&minDuration=25s&maxDuration=1s",
     "'maxDuration' should be greater than 'minDuration'"),
    ('x?service=service&start=0&end=0&operation=operation&limit=200&tag=k:v&tags={"x":123}',
     "malformed 'tags' parameter, cannot unmarshal JSON: json: cannot unmarshal number into Go "
     "value of type string"),
    ("x?traceID=100&traceID=x200",
     'cannot parse traceID param: strconv.ParseUint: parsing "x200": invalid syntax'),
    ("x?service=service&start=0&end=0&raw=foobar", "unable to parse param 'raw'"),
]


@pytest.mark.parametrize("url,err", ERROR_CASES)
def test_parse_trace_query_errors(url, err):
    with pytest.raises(InvalidInput) as info:
        parse(url)
    assert re.search(err, str(info.value)), str(info.value)


SUCCESS_CASES = [
    ("x?service=service&start=0&end=0&operation=operation&limit=200&tag=k:v&tag=x:y",
     q(attributes=kv(("k", "v"), ("x", "y")))),
    ('x?service=service&start=0&end=0&operation=operation&limit=200&tag=k:v&tags={"x":"y"}',
     q(attributes=kv(("k", "v"), ("x", "y")))),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&tag=k:v&tags=%7B%22x%22%3A%22y%22%7D",
     q(attributes=kv(("k", "v"), ("x", "y")))),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&minDuration=10s&maxDuration=20s",
     q(span_min_duration_ns=10 * SECOND, span_max_duration_ns=20 * SECOND)),
    ("x?service=service&start=0&end=0&operation=operation&limit=200&minDuration=10s",
     q(span_min_duration_ns=10 * SECOND)),
    ("x?service=service&start=0&end=0&raw=true", q(operation=None, limit=100)),
    ("x?service=service&start=0&end=0&raw=false", q(operation=None, limit=100)),
]


@pytest.mark.parametrize("url,expected", SUCCESS_CASES)
def test_parse_trace_query(url, expected):
    got = parse(url)
    assert got.query == expected
    assert got.trace_ids == ()
    assert got.raw_traces == ("raw=true" in url)


def test_trace_ids_in_upper_and_lower_case():
    got = parse("x?traceID=1f00&traceID=1E00")
    assert got.trace_ids == ("0" * 28 + "1f00", "0" * 28 + "1e00")
    # no service needed; the default window is [now - 48h, now], the default limit 100
    assert got.query == SearchQuery(start_ns=NOW - DEFAULT_TRACE_QUERY_LOOKBACK_NS, end_ns=NOW,
                                    limit=100)


def test_repeated_trace_ids_are_fetched_once():
    assert parse("x?traceID=1&traceID=0001&traceID=2").trace_ids == ("0" * 31 + "1", "0" * 31 + "2")


def test_first_value_wins_as_go_form_value():
    got = parse("x?service=a&service=b&limit=5&limit=7")
    assert got.query.service == "a" and got.query.limit == 5


def test_unknown_parameters_are_ignored():
    assert parse("x?service=service&start=0&end=0&foo=bar&log=k&prettyPrint=1").query == q(
        operation=None, limit=100)


# units -------------------------------------------------------------------------------------
def test_start_end_microseconds_and_span_durations_in_nanoseconds():
    got = parse("x?service=s&start=1700000000000000&end=1700000060000001"
                "&minDuration=1.2s&maxDuration=1h30m").query
    assert got.start_ns == 1_700_000_000_000_000_000
    assert got.end_ns == 1_700_000_060_000_001_000
    assert got.span_min_duration_ns == 1_200_000_000
    assert got.span_max_duration_ns == 5_400 * SECOND
    assert got.trace_min_duration_ns is None and got.trace_max_duration_ns is None


def test_default_window_and_lookback():
    got = parse("x?service=s").query
    assert (got.start_ns, got.end_ns) == (NOW - DEFAULT_TRACE_QUERY_LOOKBACK_NS, NOW)
    got = parse("x?service=s&lookback=1h").query
    assert (got.start_ns, got.end_ns) == (NOW - 3600 * SECOND, NOW)
    got = parse("x?service=s&lookback=2d&end=1000").query          # the UI's day unit
    assert (got.start_ns, got.end_ns) == (1_000_000 - 2 * 86400 * SECOND, 1_000_000)
    got = parse("x?service=s&lookback=custom&start=5&end=9").query  # start/end win
    assert (got.start_ns, got.end_ns) == (5_000, 9_000)
    got = parse("x?service=s&lookback=1h&start=5&end=9").query
    assert (got.start_ns, got.end_ns) == (5_000, 9_000)


def test_status_tags_become_the_status_filter():
    got = parse('x?service=s&tag=error:true&tags={"http.method":"GET"}').query
    assert got.status == "error" and got.attributes == kv(("http.method", "GET"))
    assert parse("x?service=s&tag=otel.status_code:OK").query.status == "ok"
    assert parse("x?service=s&tag=otel.status_code:ERROR").query.status == "error"
    assert parse("x?service=s&tag=error:false").query.attributes == kv(("error", "false"))
    with pytest.raises(InvalidInput, match="status"):
        parse("x?service=s&tag=error:true&tag=otel.status_code:OK")


def test_tag_value_may_hold_colons_and_tags_override_tag():
    got = parse('x?service=s&tag=http.url:http://x:80/a&tag=k:1&tags={"k":"2"}').query
    assert got.attributes == kv(("http.url", "http://x:80/a"), ("k", "2"))


# hostile and out-of-range input ------------------------------------------------------------
HOSTILE = [
    ("x?service=s&limit=10%27%20OR%201%3D1", 'strconv.ParseInt: parsing "10\' OR 1=1": invalid syntax'),
    ("x?service=s&limit=1;DROP TABLE spans", "invalid syntax"),
    ("x?service=s&limit=1_000", "invalid syntax"),
    ("x?service=s&limit=%201", "invalid syntax"),
    ("x?service=s&limit=99999999999", "value out of range"),
    (f"x?service=s&limit={MAX_LIMIT + 1}", f"unable to parse param 'limit': {MAX_LIMIT + 1} is out of range"),
    ("x?service=s&limit=0", "unable to parse param 'limit': 0 is out of range"),
    ("x?service=s&limit=-5", "out of range"),
    ("x?service=s&start=0%27--", "unable to parse param 'start': strconv.ParseInt"),
    ("x?service=s&end=1e9", "unable to parse param 'end'"),
    ("x?service=s&start=-1", "unable to parse param 'start': must not be before 1970"),
    ("x?service=s&end=9223372036854776", "unable to parse param 'end': .*value out of range"),
    ("x?service=s&minDuration=1s%27--", "unable to parse param 'minDuration': time: unknown unit"),
    ("x?service=s&minDuration=-1s", "unable to parse param 'minDuration': must not be negative"),
    ("x?service=s&maxDuration=99999999999h", "unable to parse param 'maxDuration': time: invalid duration"),
    ("x?service=s&lookback=forever", "unable to parse param 'lookback'"),
    ("x?service=s&start=10&end=5", "start time must be before end time"),
    ("x?traceID=abc%27%20OR%20%271%27%3D%271", "cannot parse traceID param"),
    ("x?traceID=" + "1" * 33, "TraceID cannot be longer than 32 hex characters"),
    ("x?service=s&tags=[1]", "cannot unmarshal array into Go value of type map"),
    ("x?service=s&tags={nope", "malformed 'tags' parameter, cannot unmarshal JSON"),
    ("x?service=s&tag=:v", "a tag key is empty"),
    ("x?service=s%00x", "NUL"),
    ("x?service=" + "a" * 5000, "longer than"),
    ("x?service=s&" + "&".join(f"tag=k{i}:v" for i in range(65)), "more than 64 tags"),
    ("x?" + "&".join(f"traceID={i + 1:x}" for i in range(101)), "unable to parse param 'traceID': more than 100 trace ids"),
]


@pytest.mark.parametrize("url,err", HOSTILE)
def test_hostile_values_are_refused(url, err):
    with pytest.raises(InvalidInput) as info:
        parse(url)
    assert re.search(err, str(info.value)), str(info.value)


def test_free_text_is_passed_verbatim():
    """Quotes and SQL in names and tags are span data: bound, never interpolated."""
    url = ("x?service=a%27b%22c%3B%20DROP%20TABLE%20spans--&operation=%27%20OR%20%271%27%3D%271"
           "&tag=db.statement:SELECT%20*%20FROM%20t%20WHERE%20a%3D%27b%27")
    got = parse(url).query
    assert got.service == "a'b\"c; DROP TABLE spans--"
    assert got.operation == "' OR '1'='1"
    assert got.attributes == kv(("db.statement", "SELECT * FROM t WHERE a='b'"))


# dependencies ------------------------------------------------------------------------------
def test_dependencies_params():
    p = parser()
    assert p.parse_dependencies_query_params("") == (NOW - DEFAULT_DEPENDENCY_LOOKBACK_NS, NOW)
    assert p.parse_dependencies_query_params("endTs=1700000000000&lookback=60000") == (
        1_700_000_000_000_000_000 - 60 * SECOND, 1_700_000_000_000_000_000)
    for query, err in [
        ("endTs=foo", """unable to parse param 'endTs': strconv.ParseInt: parsing "foo": invalid syntax"""),
        ("lookback=foo", """unable to parse param 'lookback': strconv.ParseInt: parsing "foo": invalid syntax"""),
        ("lookback=1h", "unable to parse param 'lookback'"),
        ("lookback=-1", "must not be negative"),
    ]:
        with pytest.raises(InvalidInput) as info:
            p.parse_dependencies_query_params(query)
        assert str(info.value) == err or err in str(info.value)


def test_get_trace_params():
    p = parser()
    assert p.parse_get_trace_params("123456aBC", "") == ("0" * 23 + "123456abc", None, None, False)
    assert p.parse_get_trace_params("1", Params("start=1&end=2&raw=true")) == (
        "0" * 31 + "1", 1000, 2000, True)
    for trace_id, query, err in [("chumbawumba", "", "invalid syntax"),
                                 ("1", "start=a", "unable to parse param 'start'"),
                                 ("1", "end=b", "unable to parse param 'end'"),
                                 ("1", "raw=foobar", "unable to parse param 'raw'")]:
        with pytest.raises(InvalidInput, match=err):
            p.parse_get_trace_params(trace_id, query)


# Go's parsers ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,ns", [
    ("0", 0), ("5s", 5 * SECOND), ("30s", 30 * SECOND), ("1478s", 1478 * SECOND), ("-5s", -5 * SECOND),
    ("+5s", 5 * SECOND), ("-0", 0), ("+0", 0), ("5.0s", 5 * SECOND), ("5.6s", 5_600_000_000),
    ("5.s", 5 * SECOND), (".5s", 500_000_000), ("1.0s", SECOND), ("1.00s", SECOND),
    ("1.004s", 1_004_000_000), ("100.00100s", 100_001_000_000), ("10ns", 10), ("11us", 11_000),
    ("12µs", 12_000), ("12μs", 12_000), ("13ms", 13_000_000), ("14s", 14 * SECOND),
    ("15m", 15 * 60 * SECOND), ("16h", 16 * 3600 * SECOND), ("3h30m", 12_600 * SECOND),
    ("10.5s4m", 4 * 60 * SECOND + 10_500_000_000), ("-2m3.4s", -(123_400_000_000)),
    ("1h2m3s4ms5us6ns", 3_723_004_005_006), ("39h9m14.425s", 140_954_425_000_000),
    ("52763797000ns", 52_763_797_000), ("0.3333333333333333333h", 1_200_000_000_000),
    ("9007199254740993ns", 9_007_199_254_740_993), ("9223372036854775807ns", (1 << 63) - 1),
    ("9223372036854775.807us", (1 << 63) - 1), ("-9223372036854775808ns", -(1 << 63)),
    ("0.100000000000000000000h", 360 * SECOND),
])
def test_go_parse_duration(text, ns):  # time_test.go parseDurationTests
    assert go_parse_duration(text) == ns


@pytest.mark.parametrize("text,err", [
    ("", 'time: invalid duration ""'), ("3", 'time: missing unit in duration "3"'),
    ("-", 'time: invalid duration "-"'), ("s", 'time: invalid duration "s"'),
    (".", 'time: invalid duration "."'), ("-.", 'time: invalid duration "-."'),
    (".s", 'time: invalid duration ".s"'), ("+.s", 'time: invalid duration "+.s"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("\x85\x85", 'time: invalid duration "\\xc2\\x85\\xc2\\x85"'),
    ("9223372036854775810ns", 'time: invalid duration "9223372036854775810ns"'),
    ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ("9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'),
    ("9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'),
])
def test_go_parse_duration_errors(text, err):
    with pytest.raises(ValueError) as info:
        go_parse_duration(text)
    assert str(info.value) == err


def test_go_strconv():
    assert go_parse_int("-42") == -42 and go_parse_int("+7") == 7
    assert go_parse_int("2147483647", 32) == 2147483647
    for bad in ("", " 1", "1 ", "0x10", "1_0", "1.0", "１"):
        with pytest.raises(ValueError, match="invalid syntax"):
            go_parse_int(bad)
    with pytest.raises(ValueError, match=r'strconv.ParseInt: parsing "2147483648": value out of range'):
        go_parse_int("2147483648", 32)
    with pytest.raises(ValueError, match=r'strconv.Atoi: parsing "NaN": invalid syntax'):
        go_atoi("NaN")
    for text in ("t", "true", "TRUE", "True", "T", "1"):    # TestParseBool
        assert go_parse_bool(text) is True
    for text in ("f", "false", "FALSE", "False", "F", "0"):
        assert go_parse_bool(text) is False
    with pytest.raises(ValueError, match='strconv.ParseBool: parsing "yes": invalid syntax'):
        go_parse_bool("yes")


def test_trace_id_from_string():
    assert parse_trace_id("1") == "0" * 31 + "1"
    assert parse_trace_id("4bf92f3577b34da6a3ce929d0e0e4736") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parse_trace_id("ABCDEF0123456789AB") == "00000000000000ab" + "cdef0123456789ab"
    with pytest.raises(ValueError, match='strconv.ParseUint: parsing "": invalid syntax'):
        parse_trace_id("")
    with pytest.raises(ValueError, match='strconv.ParseUint: parsing "zz": invalid syntax'):
        parse_trace_id("zz" + "0" * 16)


def test_rfc3339():
    assert parse_rfc3339("1970-01-01T00:00:00Z") == 0
    assert parse_rfc3339("2000-01-02T12:30:08.999999998Z") == 946_816_208_999_999_998
    assert parse_rfc3339("2000-04-05T21:55:16.999999992+08:00") == 954_942_916_999_999_992
    assert parse_rfc3339("2000-04-05T05:55:16.5-08:00") == 954_942_916_500_000_000
    for bad in ("abc", "NaN", "2000-01-02", "2000-01-02 12:30:08Z", "2000-13-02T12:30:08Z",
                "2000-01-02T12:30:08.1234567891Z", "2000-01-02T12:30:08+25:00"):
        with pytest.raises(ValueError, match="parsing time"):
            parse_rfc3339(bad)


def test_span_kinds():
    assert parse_span_kind("") is None
    assert parse_span_kind("server") == "server"
    assert parse_span_kind("unspecified") == ""
    with pytest.raises(InvalidInput, match="unable to parse param 'spanKind': unsupported span kind: 'foo'"):
        parse_span_kind("foo")
