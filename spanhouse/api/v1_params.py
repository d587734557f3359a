"""The parameters of ``/api/v1``: each parsed and checked before it reaches a query or an
analysis, with a 400 message that names it.

Numbers and times are parsed strictly (``limit=10; DROP TABLE x`` is a 400), counts capped, time
windows resolved by ``spanhouse.timeparse`` (``since`` or ``start``/``end``, default the last
hour). Free text (service and operation names, attribute keys and values) follows the one
policy of every query API, ``spanhouse.api.freetext``: quotes and SQL are accepted (values are
bound), control characters in names, empty keys and over-long text are refused.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Callable

from spanhouse.api import freetext
from spanhouse.api.params import Params
from spanhouse.errors import InvalidInput
from spanhouse.model.ids import normalize_trace_id
from spanhouse.query.model import AttributeFilter, rfc3339
from spanhouse.timeparse import resolve_window

DEFAULT_SINCE = "1h"
_COUNT = re.compile(r"^\d{1,9}$")
# RE2 (ClickHouse's match()) has no look-around and no back-references.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")

Clock = Callable[[], _dt.datetime]
"""An aware ``datetime`` factory: "now" (tests fix it)."""


def local_now() -> _dt.datetime:
    return _dt.datetime.now().astimezone()


def _checked(check: Callable[[str], str], name: str, value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def name_param(params: Params, name: str) -> str | None:
    """A free-text name parameter (``service``, ``operation``...); None when absent."""
    value = params.get(name)
    return None if value is None else _checked(freetext.check_name, name, value)


def check_key(name: str, value: str) -> str:
    """An attribute key given in parameter ``name``."""
    return _checked(freetext.check_key, name, value)


def check_value(name: str, value: str) -> str:
    """An attribute value given in parameter ``name``."""
    return _checked(freetext.check_value, name, value)


def parse_count(name: str, text: str | None, default: int, maximum: int) -> int:
    """A whole number from 1 to ``maximum``; ``default`` when absent."""
    if text is None:
        return default
    if not _COUNT.match(text) or not 1 <= int(text) <= maximum:
        raise InvalidInput(f"{name}: expected a whole number from 1 to {maximum}")
    return int(text)


def parse_attribute(text: str) -> AttributeFilter:
    """``k=v`` (equals), ``k`` (exists) or ``k~regex`` (RE2 match)."""
    if not text:
        raise InvalidInput("attr: empty; expected key=value, key (exists) or key~regex")
    cut = min((i for i in (text.find("="), text.find("~")) if i >= 0), default=-1)
    if cut < 0:
        return AttributeFilter(check_key("attr", text), "", "exists")
    key, op, value = text[:cut], text[cut], text[cut + 1:]
    check_key("attr", key)
    check_value(f"attr {key}", value)
    if op == "=":
        return AttributeFilter(key, value, "eq")
    if not value:
        raise InvalidInput(f"attr {key}: the regular expression after '~' is empty")
    if _NOT_RE2.search(value):
        raise InvalidInput(f"attr {key}: look-arounds and back-references are not supported (RE2)")
    try:
        re.compile(value)
    except re.error as exc:
        raise InvalidInput(f"attr {key}: not a regular expression: {exc}") from None
    return AttributeFilter(key, value, "regex")


def attribute_text(flt: AttributeFilter) -> str:
    return {"eq": f"{flt.key}={flt.value}", "exists": flt.key, "regex": f"{flt.key}~{flt.value}"}[flt.op]


def parse_choice(name: str, value: str | None, choices: tuple[str, ...], default=None):
    if value is None:
        return default
    if value not in choices:
        raise InvalidInput(f"{name}: expected one of {', '.join(choices)}")
    return value


def parse_trace_id(text: str) -> str:
    """A trace id as ``spanhouse.model.ids`` reads it -> the stored 32 lower-case digits."""
    trace_id = normalize_trace_id(text)
    if trace_id is None:
        raise InvalidInput("trace_id: expected up to 32 hexadecimal digits")
    return trace_id


def window(params: Params, clock: Clock) -> tuple[int, int]:
    """``(start_ns, end_ns)`` from ``since`` or ``start``/``end`` (default: the last hour)."""
    return resolve_window(params.get("since"), params.get("start"), params.get("end"),
                          now=clock(), default_since=DEFAULT_SINCE)


def window_echo(params: Params, start_ns: int, end_ns: int) -> dict:
    echo = {"start": rfc3339(start_ns), "end": rfc3339(end_ns)}
    if params.get("start") is None:
        echo["since"] = params.get("since") or DEFAULT_SINCE
    return echo
