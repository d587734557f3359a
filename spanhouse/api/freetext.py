"""Free text in query parameters: the one policy of every query API (``/api/v1``, Jaeger's
``/api/*`` and ``/api/v3/*``).

Free text is what a user types to match span data: *names* (service and operation names,
attribute and tag keys) and *values* (attribute and tag values). It reaches the store only as
bound query parameters (``QueryAPI``'s contract), never spliced into SQL, so quotes, semicolons,
backslashes and SQL keywords are harmless data and are accepted: ``service=O'Brien`` finds
O'Brien's traces, and a ``db.statement`` value is SQL. (Numbers, durations, times and ids are
not free text: each API parses them strictly, so a fragment of SQL there is a 400.)

Refused (a 400; each API words the message its own way around the reason given here):

- a name longer than ``MAX_NAME`` characters, or holding a control character (U+0000-U+001F,
  U+007F): no service, span or attribute name carries one, and echoed into a log line or a
  terminal they could forge output;
- an empty key: a filter on an attribute needs its name;
- a value longer than ``MAX_VALUE`` characters, or holding a NUL: values may span lines (SQL,
  stack traces) but never hold NUL, which C-based tools cut strings at.

The lengths bound the work and the memory one request can ask for; a value may be longer than
a name because span data (statements, URLs) is.
"""

from __future__ import annotations

import re

MAX_NAME = 1024
MAX_VALUE = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _describe(ch: str) -> str:
    return "a NUL character" if ch == "\x00" else f"a control character (U+{ord(ch):04X})"


def check_name(text: str) -> str:
    """``text`` when it may be a name (service, operation, key); else ``ValueError(reason)``."""
    if len(text) > MAX_NAME:
        raise ValueError(f"longer than {MAX_NAME} characters")
    found = _CONTROL.search(text)
    if found:
        raise ValueError(f"holds {_describe(found.group())}")
    return text


def check_key(text: str, noun: str = "attribute key") -> str:
    """``text`` when it may be an attribute (or tag: ``noun``) key: a name, not empty."""
    if not text:
        raise ValueError(f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} is empty")
    return check_name(text)


def check_value(text: str) -> str:
    """``text`` when it may be an attribute or tag value; else ``ValueError(reason)``."""
    if len(text) > MAX_VALUE:
        raise ValueError(f"longer than {MAX_VALUE} characters")
    if "\x00" in text:
        raise ValueError(f"holds {_describe(chr(0))}")
    return text
