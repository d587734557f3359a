"""Go's standard-library parsers, ported: the one Go grammar of Spanhouse for each kind of text.

- ``time.ParseDuration`` (``parse_duration_ns``, ``parse_duration``). The collector reads every
  duration in its YAML (``timeout``, ``decision_wait``, ``ttl``...) with Go's parser, so a
  config the collector accepts must load here too (``.5s``, ``1h30m``, ``-2m3.4s``, ``12µs``).
  The CLI's relative times (``--since 90m``) and Jaeger's query parameters (``minDuration``) use
  the same grammar. Grammar: ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` with units ns, us, µs (U+00B5),
  μs (U+03BC), ms, s, m, h (``UNITS``; a caller may pass a wider mapping, as Jaeger's UI
  lookback adds ``d`` and ``w``), or a bare ``0``. The result must fit Go's ``int64``
  nanoseconds. Ported line for line from ``src/time/format.go`` (``ParseDuration``,
  ``leadingInt``, ``leadingFraction``, ``quote``); ``tests/test_gotime.py`` carries Go's own
  test table.
- ``time.Parse(time.RFC3339Nano, ...)`` (``parse_rfc3339``), for Jaeger's api_v3.
- ``strconv``: ``ParseInt``/``Atoi`` (``go_parse_int``, ``go_atoi``: base-10 digits with an
  optional sign, no spaces or ``_``, range checked), ``ParseBool`` (``go_parse_bool``) and
  ``Quote`` (``go_quote``), for Jaeger's query parameters.

Errors are ``ValueError`` (``DurationError`` for durations) carrying Go's own message, so a
port of a Go API (Jaeger's) answers the same input with the same words.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Mapping

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

UNITS = {"ns": NANOSECOND, "us": MICROSECOND, "\u00b5s": MICROSECOND, "\u03bcs": MICROSECOND,
         "ms": MILLISECOND, "s": SECOND, "m": MINUTE, "h": HOUR}
"""Go's duration units, in nanoseconds."""
_LIMIT = 1 << 63


class DurationError(ValueError):
    """Not a Go duration; the message is Go's ("time: invalid duration \"1d\"")."""


def _quote(s: str) -> str:
    """``time.quote``: ``"`` and ``\\`` escaped, non-ASCII and control characters as their UTF-8
    bytes in ``\\xNN`` form (Go's messages are byte-exact: ``"\\xc2\\xb5x"`` for ``µx``)."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _leading_int(s: str) -> tuple[int, str]:
    x, i = 0, 0
    while i < len(s) and "0" <= s[i] <= "9":
        if x > _LIMIT // 10:
            raise OverflowError
        x = x * 10 + ord(s[i]) - 48
        if x > _LIMIT:
            raise OverflowError
        i += 1
    return x, s[i:]


def _leading_fraction(s: str) -> tuple[int, float, str]:
    """Digits after the point; past int64 precision they are consumed and ignored."""
    x, scale, i, overflow = 0, 1.0, 0, False
    while i < len(s) and "0" <= s[i] <= "9":
        if not overflow:
            if x > (_LIMIT - 1) // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > _LIMIT:
                    overflow = True
                else:
                    x = y
                    scale *= 10
        i += 1
    return x, scale, s[i:]


def parse_duration_ns(text: str, units: Mapping[str, int] = UNITS) -> int:
    """Nanoseconds in a Go duration string; ``DurationError`` with Go's message otherwise.

    ``units`` (unit name -> nanoseconds) replaces Go's ``UNITS`` for a grammar that knows more
    (Jaeger's UI sends ``lookback=2d``); everything else stays Go's."""
    orig = s = str(text)
    invalid = DurationError(f"time: invalid duration {_quote(orig)}")
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        before = len(s)
        try:
            v, s = _leading_int(s)
        except OverflowError:
            raise invalid from None
        pre = before != len(s)
        f, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            before = len(s)
            f, scale, s = _leading_fraction(s)
            post = before != len(s)
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise DurationError(f"time: missing unit in duration {_quote(orig)}")
        unit_name, s = s[:i], s[i:]
        unit = units.get(unit_name)
        if unit is None:
            raise DurationError(f"time: unknown unit {_quote(unit_name)} in duration {_quote(orig)}")
        if v > _LIMIT // unit:
            raise invalid
        v *= unit
        if f > 0:
            # float64, as Go: nanosecond-accurate for fractions of hours
            v += int(float(f) * (float(unit) / scale))
            if v > _LIMIT:
                raise invalid
        total += v
        if total > _LIMIT:
            raise invalid
    if neg:
        return -total
    if total > _LIMIT - 1:
        raise invalid
    return total


def parse_duration(text: str) -> float:
    """Seconds (a float) in a Go duration string."""
    return parse_duration_ns(text) / SECOND


# ---------------------------------------------------------------------------- time.Parse
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z")


def parse_rfc3339(s: str) -> int:
    """``time.Parse(time.RFC3339Nano, s)`` -> Unix nanoseconds. The message on failure is
    Go's prefix (``parsing time "x" as "2006-...": ...``) with a shorter explanation."""
    m = _RFC3339.match(s)
    if not m:
        raise ValueError(f"parsing time {go_quote(s)} as {go_quote(RFC3339_NANO)}: "
                         "cannot parse as RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    offset = 0
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise ValueError(f"parsing time {go_quote(s)}: time zone offset out of range")
        offset = (zh * 3600 + zm * 60) * (-1 if zone[0] == "-" else 1)
    try:
        moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    except ValueError:
        raise ValueError(f"parsing time {go_quote(s)}: day, month or time out of range") from None
    seconds = int(moment.timestamp()) - offset
    return seconds * SECOND + int(frac.ljust(9, "0") if frac else 0)


# ---------------------------------------------------------------------------- strconv
def go_quote(s: str) -> str:
    """``strconv.Quote`` for the messages (printable text as is, ``"`` and ``\\`` escaped)."""
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else
                       f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_DEC = re.compile(r"[+-]?[0-9]+\Z")


def go_parse_int(s: str, bits: int = 64, fn: str = "ParseInt") -> int:
    """``strconv.ParseInt(s, 10, bits)``; ``ValueError`` carries Go's message."""
    if not _DEC.match(s):
        raise ValueError(f"strconv.{fn}: parsing {go_quote(s)}: invalid syntax")
    value = int(s)
    if not -(1 << (bits - 1)) <= value <= (1 << (bits - 1)) - 1:
        raise ValueError(f"strconv.{fn}: parsing {go_quote(s)}: value out of range")
    return value


def go_atoi(s: str) -> int:
    """``strconv.Atoi`` (64-bit int)."""
    return go_parse_int(s, 64, "Atoi")


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def go_parse_bool(s: str) -> bool:
    """``strconv.ParseBool``."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(s)}: invalid syntax")
