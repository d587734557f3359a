"""Times and durations as people type them, for the CLI and ``/api/v1``.

Times (``parse_time``):

- RFC 3339: ``2026-11-24T10:31:00Z``, ``2026-11-24T10:31:00.250+02:00`` (a space may replace
  the ``T``; without an offset the time is local);
- ``HH:MM`` or ``HH:MM:SS``: today, in local time (the server's local time when sent to the
  API: the CLI converts it to RFC 3339 on the client first);
- relative: ``10m ago``, ``2h ago``, ``1h30m ago`` (any Go duration followed by ``ago``);
- ``now``.

Durations (``parse_duration``) are Go duration strings, read with Go's own grammar
(``spanhouse.gotime``, as the collector reads its config): ``250ms``, ``15m``, ``1h30m``,
``.5h``; a bare ``0`` is zero; never negative. ``since`` is a duration back from now: ``1h`` is
the last hour.

Every error is an ``InvalidInput`` whose message lists the accepted forms. ``now`` can be
injected (an aware ``datetime``) so tests do not depend on the clock; its time zone is the
"local" one for ``HH:MM`` and offset-less times.
"""

from __future__ import annotations

import datetime as _dt
import re

from spanhouse.errors import InvalidInput
from spanhouse.gotime import DurationError, parse_duration_ns

TIME_FORMS = ("an RFC 3339 time (2026-11-24T10:31:00Z), HH:MM (today, local time), "
              "a relative time (10m ago) or now")
DURATION_FORMS = "a Go duration such as 250ms, 15m or 1h30m"

# Unix nanoseconds must fit ClickHouse's DateTime64(9) / Int64: 1970 .. 2262.
MAX_NS = 2**63 - 1
_MAX_TEXT = 64

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_RFC3339_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[Tt ]\d{2}:\d{2}(?::\d{2})?(?:$|[.,+Zz-]))")
_AGO = re.compile(r"^(\S+)\s+ago$")


def _now(now: _dt.datetime | None) -> _dt.datetime:
    if now is None:
        return _dt.datetime.now().astimezone()
    if now.tzinfo is None:
        return now.astimezone()
    return now


def to_ns(moment: _dt.datetime) -> int:
    """An aware datetime -> Unix nanoseconds (exact to the microsecond)."""
    delta = moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def now_ns(now: _dt.datetime | None = None) -> int:
    return to_ns(_now(now))


def parse_duration(text: str, name: str = "duration") -> int:
    """A Go duration string -> nanoseconds (never negative). ``name`` labels the error."""
    value = str(text).strip()
    if len(value) > _MAX_TEXT:
        raise InvalidInput(f"{name}: too long; expected {DURATION_FORMS}")
    try:
        ns = parse_duration_ns(value)  # at most MAX_NS, as Go's int64
    except DurationError:
        ns = None
    if ns is None or ns < 0:
        raise InvalidInput(f"{name}: {_show(value)} is not {DURATION_FORMS}")
    return ns


def parse_time(text: str, now: _dt.datetime | None = None, name: str = "time") -> int:
    """One of the forms of the module docstring -> Unix nanoseconds."""
    value = str(text).strip()
    if len(value) > _MAX_TEXT:
        raise InvalidInput(f"{name}: too long; expected {TIME_FORMS}")
    current = _now(now)
    lowered = value.lower()
    if lowered == "now":
        return to_ns(current)
    ago = _AGO.match(lowered)
    if ago:
        try:
            back = parse_duration(ago.group(1), name)
        except InvalidInput:
            raise InvalidInput(f"{name}: {_show(value)} is not {TIME_FORMS}") from None
        return _checked(to_ns(current) - back, value, name)
    clock = _CLOCK.match(value)
    if clock:
        hour, minute, second = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise InvalidInput(f"{name}: {_show(value)} is not a time of day; expected {TIME_FORMS}")
        moment = current.replace(hour=hour, minute=minute, second=second, microsecond=0)
        return _checked(to_ns(moment), value, name)
    # fromisoformat also takes week dates and compact forms; RFC 3339 is dashes and colons.
    if _RFC3339_PREFIX.match(value):
        try:
            moment = _dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:  # local time: the system's (DST-aware) or the injected now's
                moment = moment.astimezone() if now is None else moment.replace(tzinfo=current.tzinfo)
            return _checked(to_ns(moment), value, name)
    raise InvalidInput(f"{name}: {_show(value)} is not {TIME_FORMS}")


def since_window(since: str, now: _dt.datetime | None = None, name: str = "since") -> tuple[int, int]:
    """``1h`` -> (now - 1h, now) in nanoseconds (the start is clamped at 1970)."""
    back = parse_duration(since, name)
    end = now_ns(now)
    return max(end - back, 0), end


def resolve_window(since: str | None = None, start: str | None = None, end: str | None = None,
                   now: _dt.datetime | None = None, default_since: str = "1h") -> tuple[int, int]:
    """The (start_ns, end_ns) window from ``since`` or ``start``/``end``.

    ``since`` and ``start`` exclude each other; ``end`` alone ends a ``default_since`` (or
    ``since``) window there; ``start`` alone runs until now; nothing is the last
    ``default_since``.
    """
    if since is not None and start is not None:
        raise InvalidInput("give either since or start/end, not both")
    if start is not None:
        lo = parse_time(start, now, "start")
        hi = parse_time(end, now, "end") if end is not None else now_ns(now)
    else:
        hi = parse_time(end, now, "end") if end is not None else now_ns(now)
        lo = max(hi - parse_duration(since if since is not None else default_since, "since"), 0)
    if lo > hi:
        raise InvalidInput("start is after end")
    return lo, hi


def _checked(ns: int, value: str, name: str) -> int:
    if not 0 <= ns <= MAX_NS:
        raise InvalidInput(f"{name}: {_show(value)} is outside 1970 .. 2262")
    return ns


def _show(value: str) -> str:
    return repr(value) if value else "an empty value"
