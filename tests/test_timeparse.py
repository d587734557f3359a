"""Times and durations as people type them (``spanhouse.timeparse``)."""

from __future__ import annotations

import datetime as dt

import pytest

from spanhouse.errors import InvalidInput
from spanhouse.timeparse import (parse_duration, parse_time, resolve_window, since_window,
                                 to_ns)

PARIS = dt.timezone(dt.timedelta(hours=1))
NOW = dt.datetime(2026, 11, 24, 11, 0, 30, 250000, tzinfo=PARIS)  # 10:00:30.25Z
NOW_NS = 1795514430_250_000_000
S = 10**9


def test_now_is_injected():
    assert to_ns(NOW) == NOW_NS
    assert parse_time("now", NOW) == NOW_NS
    assert parse_time(" NOW ", NOW) == NOW_NS


@pytest.mark.parametrize("text,expected", [
    ("2026-11-24T10:31:00Z", 1795516260 * S),
    ("2026-11-24t10:31:00z", 1795516260 * S),
    ("2026-11-24T10:31:00.123Z", 1795516260 * S + 123_000_000),
    ("2026-11-24T10:31:00.123456789Z", 1795516260 * S + 123_456_000),  # microseconds kept
    ("2026-11-24T12:31:00+02:00", 1795516260 * S),
    ("2026-11-24T05:31:00-05:00", 1795516260 * S),
    ("2026-11-24 10:31:00Z", 1795516260 * S),
    ("2026-11-24T11:31:00", 1795516260 * S),  # no offset: local (the injected now's zone)
    ("2026-11-24", 1795474800 * S),           # local midnight
])
def test_rfc3339(text, expected):
    assert parse_time(text, NOW) == expected


def test_clock_times_are_today_in_local_time():
    assert parse_time("10:31", NOW) == 1795512660 * S  # 09:31Z
    assert parse_time("11:31", NOW) == 1795516260 * S
    assert parse_time("09:05:07", NOW) == NOW_NS - 250_000_000 - (1 * 3600 + 55 * 60 + 23) * S
    assert parse_time("0:00", NOW) == 1795474800 * S


@pytest.mark.parametrize("text,back", [
    ("10m ago", 600), ("2h ago", 7200), ("1h30m ago", 5400), ("90s  ago", 90), ("0 ago", 0)])
def test_relative_times(text, back):
    assert parse_time(text, NOW) == NOW_NS - back * S


@pytest.mark.parametrize("text,ns", [
    ("15m", 900 * S), ("1h30m", 5400 * S), ("250ms", 250_000_000), ("1.5h", 5400 * S),
    ("2us", 2000), ("3µs", 3000), ("7ns", 7), ("0", 0), (" 72h ", 72 * 3600 * S),
    # Go's grammar (spanhouse.gotime), as the collector reads durations: a fraction without
    # its integer part, a point without a fraction, an explicit plus sign.
    (".5h", 1800 * S), ("1.h", 3600 * S), ("+90s", 90 * S)])
def test_go_durations(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", [
    "", "15", "1d", "-1h", "h", ".h", "15 m", "1h'", "1e3s", "0x10s", "1" * 100 + "h",
    "999999999999h"])
def test_bad_durations(text):
    with pytest.raises(InvalidInput) as info:
        parse_duration(text, "window")
    assert str(info.value).startswith("window: ")
    assert "Go duration" in str(info.value) or "too long" in str(info.value)


@pytest.mark.parametrize("text", [
    "", "yesterday", "noon", "24:00", "10:60", "10", "10:5", "2026-11-24T", "2026-13-01T00:00:00Z",
    "2026-W47-1", "20261124T103100Z", "2026-11-24T10:31:00Zjunk", "10m", "ago", "m ago",
    "10 minutes ago", "9999-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "x" * 500,
    "2026-11-24T10:31:00Z'; DROP TABLE otel_traces --"])
def test_bad_times_list_the_accepted_forms(text):
    with pytest.raises(InvalidInput) as info:
        parse_time(text, NOW, "at")
    message = str(info.value)
    assert message.startswith("at: ")
    assert "RFC 3339" in message or "1970" in message or "too long" in message


def test_since_is_the_last_duration():
    assert since_window("1h", NOW) == (NOW_NS - 3600 * S, NOW_NS)
    assert since_window("1000000h", NOW)[0] == 0  # clamped at 1970
    assert since_window(".5h", NOW) == (NOW_NS - 1800 * S, NOW_NS)


def test_the_cli_takes_since_in_go_s_grammar():
    from spanhouse.cli.options import window_params

    assert window_params(".5h", None, None) == [("since", ".5h")]
    with pytest.raises(InvalidInput, match="^--since: "):
        window_params("-1h", None, None)


def test_resolve_window():
    assert resolve_window(now=NOW) == (NOW_NS - 3600 * S, NOW_NS)
    assert resolve_window(since="15m", now=NOW) == (NOW_NS - 900 * S, NOW_NS)
    assert resolve_window(start="10m ago", now=NOW) == (NOW_NS - 600 * S, NOW_NS)
    assert resolve_window(start="10:00", end="11:00", now=NOW) == (1795510800 * S, 1795514400 * S)
    assert resolve_window(end="1h ago", now=NOW) == (NOW_NS - 7200 * S, NOW_NS - 3600 * S)
    assert resolve_window(since="30m", end="1h ago", now=NOW) == (NOW_NS - 5400 * S, NOW_NS - 3600 * S)
    assert resolve_window(default_since="24h", now=NOW) == (NOW_NS - 86400 * S, NOW_NS)
    with pytest.raises(InvalidInput, match="either since or start"):
        resolve_window(since="1h", start="10:00", now=NOW)
    with pytest.raises(InvalidInput, match="start is after end"):
        resolve_window(start="11:00", end="10:00", now=NOW)
    with pytest.raises(InvalidInput, match="^end: "):
        resolve_window(start="10:00", end="later", now=NOW)


def test_default_now_is_the_local_clock():
    before = to_ns(dt.datetime.now(dt.timezone.utc))
    value = parse_time("now")
    after = to_ns(dt.datetime.now(dt.timezone.utc))
    assert before <= value <= after
    naive_local = dt.datetime.now().replace(microsecond=0, second=0)
    assert parse_time(naive_local.strftime("%H:%M")) == to_ns(naive_local.astimezone())
