"""Go's ``time.ParseDuration``, ported: the one duration grammar of Spanhouse.

The collector reads every duration in its YAML (``timeout``, ``decision_wait``, ``ttl``...)
with Go's parser, so a config the collector accepts must load here too (``.5s``, ``1h30m``,
``-2m3.4s``, ``12µs``). The CLI's relative times (``--since 90m``) use the same grammar.

Grammar: ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` with units ns, us, µs (U+00B5), μs (U+03BC),
ms, s, m, h, or a bare ``0``. The result must fit Go's ``int64`` nanoseconds. Ported line for
line from ``src/time/format.go`` (``ParseDuration``, ``leadingInt``, ``leadingFraction``);
``tests/test_gotime.py`` carries Go's own test table.
"""

from __future__ import annotations

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {"ns": NANOSECOND, "us": MICROSECOND, "\u00b5s": MICROSECOND, "\u03bcs": MICROSECOND,
          "ms": MILLISECOND, "s": SECOND, "m": MINUTE, "h": HOUR}
_LIMIT = 1 << 63


class DurationError(ValueError):
    """Not a Go duration; the message is Go's ("time: invalid duration \"1d\"")."""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def parse_duration_ns(text: str) -> int:
    """Nanoseconds in a Go duration string; ``DurationError`` with Go's message otherwise."""
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
        unit = _UNITS.get(unit_name)
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
