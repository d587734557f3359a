"""Tempo's request parameters, parsed as Tempo parses them (grafana/tempo ``pkg/api/http.go``).

Two time grammars coexist upstream and both are kept, because clients send both:

- ``/api/search``, the tag endpoints and trace-by-id take ``start``/``end`` as Unix *seconds*
  (``strconv.ParseUint(s, 10, 32)``); absent both, Tempo searches its recent data, which here
  is the last hour (``DEFAULT_SINCE_NS``).
- The metrics endpoints take ``parseTimestamp``'s grammar: Unix seconds (up to 10 digits),
  Unix nanoseconds (more digits), fractional seconds, or RFC 3339; ``since`` (default 1h)
  sets the start when it is absent. ``step`` is seconds (``"15"``, ``"0.5"``) or a Go duration
  (``"15s"``); absent, ``default_step`` (``traceql.DefaultQueryRangeStep``) picks ~240 points.

Messages follow Tempo's (``invalid start: ...``, ``http parameter start must be before end``).
"""

from __future__ import annotations

import math
import time

from spanhouse.api.params import Params
from spanhouse.errors import InvalidInput
from spanhouse.gotime import DurationError, parse_duration_ns, parse_rfc3339

SECOND = 1_000_000_000
MS = 1_000_000
DEFAULT_SINCE_NS = 3600 * SECOND
DEFAULT_LIMIT = 20          # Tempo's and Grafana's DEFAULT_LIMIT
DEFAULT_SPSS = 3            # Tempo's defaultSpansPerSpanSet
# Prometheus' model.ParseDuration (Tempo's ``since``) also knows days, weeks and years.
_SINCE_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": MS, "s": SECOND,
                "m": 60 * SECOND, "h": 3600 * SECOND, "d": 86400 * SECOND,
                "w": 7 * 86400 * SECOND, "y": 365 * 86400 * SECOND}


def now_ns() -> int:
    return time.time_ns()


def parse_uint(value: str, name: str, bits: int = 32) -> int:
    """``strconv.ParseUint(value, 10, bits)`` with Tempo's ``invalid NAME: ...`` message."""
    if not value.isascii() or not value.isdigit():
        raise InvalidInput(f'invalid {name}: strconv.ParseUint: parsing "{value[:64]}": '
                           "invalid syntax")
    number = int(value)
    if number > 2**bits - 1:
        raise InvalidInput(f'invalid {name}: strconv.ParseUint: parsing "{value[:64]}": '
                           "value out of range")
    return number


def go_duration_ns(value: str, name: str) -> int:
    try:
        return parse_duration_ns(value)
    except DurationError as exc:
        raise InvalidInput(f"invalid {name}: {exc}") from None


def seconds_window(params: Params) -> tuple[int, int]:
    """``start``/``end`` in Unix seconds (search, tags, tag values) -> nanoseconds. Neither
    given: the last hour. ``end`` alone: the hour before it. ``start`` alone is refused, as
    Tempo refuses it (its ``end`` is then 0, before ``start``)."""
    start = parse_uint(params.get("start"), "start") if params.get("start") else 0
    end = parse_uint(params.get("end"), "end") if params.get("end") else 0
    if start and end <= start:
        raise InvalidInput("http parameter start must be before end. "
                           f"received start={start} end={end}")
    end_ns = end * SECOND if end else now_ns()
    start_ns = start * SECOND if start else end_ns - DEFAULT_SINCE_NS
    if start_ns >= end_ns:
        raise InvalidInput("http parameter start must be before end. "
                           f"received start={start} end={end}")
    return start_ns, end_ns


def parse_timestamp(value: str, name: str) -> int:
    """Tempo's ``parseTimestamp``: Unix ns (more than 10 digits), s, fractional s, RFC 3339."""
    if "." in value:
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
        if seconds is not None and math.isfinite(seconds):
            whole, fraction = divmod(seconds, 1)
            return int(whole) * SECOND + int(round(fraction * 1000) / 1000 * SECOND)
    text = value[1:] if value[:1] in "+-" else value
    if text.isascii() and text.isdigit():
        number = int(value)
        return number * SECOND if len(value) <= 10 else number
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise InvalidInput(f"could not parse '{name}' parameter: {exc}") from None


def metrics_window(params: Params) -> tuple[int, int]:
    """Tempo's ``bounds``: end defaults to now, start to min(end, now) - since (1h)."""
    since = DEFAULT_SINCE_NS
    if params.get("since"):
        try:
            since = parse_duration_ns(params.get("since"), _SINCE_UNITS)
        except DurationError as exc:
            raise InvalidInput(f"could not parse 'since' parameter: {exc}") from None
    now = now_ns()
    end = parse_timestamp(params.get("end"), "end") if params.get("end") else now
    start = (parse_timestamp(params.get("start"), "start") if params.get("start")
             else min(end, now) - since)
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start})")
    return start, end


def default_step(start_ns: int, end_ns: int) -> int:
    """Tempo's ``DefaultQueryRangeStep``: about 240 points, rounded down to a granularity."""
    delta = end_ns - start_ns
    baseline = delta // 240
    if delta < 60 * SECOND:
        grain = 50 * MS
        return baseline // grain * grain if baseline > grain else grain
    for grain in (3600 * SECOND, 300 * SECOND, 60 * SECOND, 15 * SECOND, 5 * SECOND, SECOND):
        if baseline > grain:
            return baseline // grain * grain
    return SECOND


def step_ns(params: Params, start_ns: int, end_ns: int) -> int:
    """``step``: seconds (``"15"``, ``"0.5"``) or a Go duration; default ``default_step``."""
    value = params.get("step")
    if not value:
        return default_step(start_ns, end_ns)
    try:
        step = float(value) * SECOND
    except ValueError:
        try:
            step = parse_duration_ns(value)
        except DurationError:
            raise InvalidInput(f'cannot parse "{value[:64]}" to a valid duration') from None
    if not math.isfinite(step) or abs(step) > 2**63 - 1:
        raise InvalidInput(f'cannot parse "{value[:64]}" to a valid duration. It overflows int64')
    if step <= 0:
        raise InvalidInput(f'cannot parse "{value[:64]}": step must be positive')
    return int(step)


def positive(params: Params, name: str, default: int) -> int:
    """``limit`` / ``spss``: a uint32; ``limit`` 0 is refused as Tempo refuses it."""
    value = params.get(name)
    if value is None:
        return default
    number = parse_uint(value, name)
    if number == 0 and name == "limit":
        raise InvalidInput("invalid limit: must be a positive number")
    return number


def metrics_query(params: Params) -> str:
    """The TraceQL of a metrics request: ``q``, else Prometheus-style ``query``."""
    query = params.get("q") or params.get("query")
    if not query:
        raise InvalidInput("invalid TraceQL query: the q parameter is required")
    return query
