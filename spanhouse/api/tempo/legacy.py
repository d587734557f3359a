"""Tempo's old-style search (``tags`` in logfmt, ``minDuration``, ``maxDuration``) as TraceQL.

Before TraceQL, ``/api/search?tags=service.name=cart http.status_code=500&minDuration=1s``
was the search; Grafana's "Search" tab of old and scripts still send it. Tempo answers it from
``tempodb/encoding/vparquet*/block_search.go``; its rules, translated into one spanset filter:

- ``key=value``: a span or resource attribute ``key`` equal to ``value`` (``.key = "value"``,
  unscoped: span first, then resource, as Tempo reads both); Tempo compared the stored text,
  so ``500``, ``2.5``, ``true`` also match int, double and bool attributes;
- ``name=value``: the span name; ``status.code=error|ok|unset``: the span status;
  ``error=true``: an error span; ``root.service.name`` / ``root.name``: the root span's
  service / name *contains* the value (Tempo's substring predicate on those columns);
- ``minDuration`` / ``maxDuration`` (Go durations): the *trace* duration
  (``traceDuration >= ...``), inclusive as Tempo's ``IntBetweenPredicate``.

Values are written as TraceQL string literals (escaped), never pasted raw; the parser then
reads them back, and the engine binds them as SQL parameters.
"""

from __future__ import annotations

import json
import re

from spanhouse.errors import InvalidInput

_PAIR = re.compile(r'\s*([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./:-]+")
_STATUSES = {"error": "error", "ok": "ok", "unset": "unset"}
MAX_TAGS_BYTES = 8192


def parse_logfmt(text: str) -> dict[str, str]:
    """go-logfmt's decoding of one record: ``key=value``, ``key="quoted value"``, bare ``key``
    (empty value). A key given twice is Tempo's ``tag ... has been set twice``."""
    if len(text) > MAX_TAGS_BYTES:
        raise InvalidInput(f"invalid tags: longer than {MAX_TAGS_BYTES} bytes")
    tags: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        while text[pos].isspace():
            pos += 1
        match = _PAIR.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidInput(f"invalid tags: unexpected '{text[pos]}' at pos {pos + 1}")
        key, raw = match.group(1), match.group(2) or ""
        if raw.startswith('"'):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise InvalidInput(f"invalid tags: invalid quoted value at pos {match.start(2) + 1}") from None
        if key in tags:
            raise InvalidInput(f"invalid tags: tag {key} has been set twice")
        tags[key] = raw
        pos = match.end()
        if pos < len(text) and not text[pos].isspace():
            raise InvalidInput(f"invalid tags: unexpected '{text[pos]}' at pos {pos + 1}")
    return tags


def string_literal(value: str) -> str:
    """A TraceQL string literal holding ``value`` exactly."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\t", "\\t").replace("\r", "\\r") + '"'


def _attribute(key: str) -> str:
    return "." + key if _PLAIN_NAME.fullmatch(key) else "." + string_literal(key)


def _condition(key: str, value: str) -> str:
    if key == "name":
        return f"name = {string_literal(value)}"
    if key == "status.code":
        status = _STATUSES.get(value.lower())
        if status is None:
            raise InvalidInput(f"invalid tags: status.code {value!r} is not one of "
                               "error, ok, unset")
        return f"status = {status}"
    if key == "error":
        return "status = error"
    if key in ("root.service.name", "root.name"):
        intrinsic = "rootServiceName" if key == "root.service.name" else "rootName"
        return f"{intrinsic} =~ {string_literal('.*' + re.escape(value) + '.*')}"
    return _attribute_equals(_attribute(key), value)


_INT = re.compile(r"-?\d{1,19}")
_FLOAT = re.compile(r"-?\d+\.\d+")


def _attribute_equals(field: str, value: str) -> str:
    """Tempo's old search compared stored *text*; TraceQL is typed, so a value that reads as a
    number or a bool also matches attributes of that type."""
    text = f"{field} = {string_literal(value)}"
    if _INT.fullmatch(value) or _FLOAT.fullmatch(value) or value in ("true", "false"):
        return f"({text} || {field} = {value})"
    return text


def to_traceql(tags: dict[str, str], min_duration_ns: int | None,
               max_duration_ns: int | None) -> str:
    """The spanset filter of an old-style search (``{ }``: every trace)."""
    parts = [_condition(key, value) for key, value in tags.items()]
    if min_duration_ns:
        parts.append(f"traceDuration >= {min_duration_ns}ns")
    if max_duration_ns:
        parts.append(f"traceDuration <= {max_duration_ns}ns")
    return "{ " + " && ".join(parts) + " }" if parts else "{ }"
