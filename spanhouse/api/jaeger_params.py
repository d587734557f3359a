"""What Jaeger's two HTTP APIs (the classic ``/api/*`` of ``jaeger`` and api_v3 of
``jaeger_v3``) parse alike, with Jaeger's messages: trace ids, span kinds, duration bounds, and
free text under Spanhouse's one policy (``spanhouse.api.freetext``).

Go's own parsers (``strconv``, ``time.ParseDuration``) are in ``spanhouse.gotime``; this module
adds what Jaeger builds on them. Failures raise ``InvalidInput`` worded as Jaeger's
``newParseError`` (``unable to parse param 'x': <cause>``), or ``ValueError`` with Jaeger's
cause for a caller that wraps it its own way (api_v3's ``malformed parameter x: <cause>``).
"""

from __future__ import annotations

from spanhouse.api import freetext
from spanhouse.errors import InvalidInput
from spanhouse.gotime import go_quote, parse_duration_ns
from spanhouse.model.enums import SPAN_KINDS as _STORED_SPAN_KINDS
from spanhouse.model.ids import TRACE_ID_RE, normalize_trace_id
from spanhouse.query.model import MAX_LIMIT

SPAN_KIND = "spanKind"
# Jaeger's span kinds as the UI sends them: OTLP's, lower case
SPAN_KINDS = tuple(kind.lower() for kind in _STORED_SPAN_KINDS)


def parse_error(param: str, err: Exception | str) -> InvalidInput:
    """``newParseError``: ``unable to parse param 'x': <cause>``."""
    return InvalidInput(f"unable to parse param '{param}': {err}")


def check_name(param: str, value: str | None) -> str | None:
    """*Spanhouse*: a service or operation name under the free-text policy (None passes)."""
    if value is not None:
        try:
            freetext.check_name(value)
        except ValueError as exc:
            raise parse_error(param, exc) from None
    return value


def check_limit(param: str, value: int) -> int:
    """*Spanhouse*: a result count must be within 1..``MAX_LIMIT`` (Go takes any int32)."""
    if not 1 <= value <= MAX_LIMIT:
        raise parse_error(param, f"{value} is out of range [1, {MAX_LIMIT}]")
    return value


def parse_trace_id(s: str) -> str:
    """``model.TraceIDFromString``: a trace id as ``spanhouse.model.ids`` reads it (1-32 hex
    digits) -> the stored 32 lower-case digits; else ``ValueError`` with Jaeger's message."""
    trace_id = normalize_trace_id(s)
    if trace_id is not None:
        return trace_id
    if len(s) > 32:
        raise ValueError(f"TraceID cannot be longer than 32 hex characters: {s}")
    # Jaeger parses the high and the low 64 bits apart (strconv.ParseUint, base 16): its
    # message quotes the half that failed
    high, low = s[:-16], s[-16:]
    bad = high if high and not TRACE_ID_RE.fullmatch(high) else low
    raise ValueError(f"strconv.ParseUint: parsing {go_quote(bad)}: invalid syntax")


def parse_nonnegative_duration(s: str) -> int:
    """Nanoseconds in a query's duration bound (Go's grammar), which both Jaeger query APIs
    refuse when negative (``must not be negative``); raises ``ValueError``."""
    d = parse_duration_ns(s)
    if d < 0:
        raise ValueError("must not be negative")
    return d


def parse_span_kind(value: str | None, param: str = SPAN_KIND) -> str | None:
    """A Jaeger span kind filter -> ``QueryAPI.operations``' ``span_kind``: empty = all kinds
    (None); ``unspecified`` = spans without a kind (``""``, ``Operation.span_kind``'s spelling);
    else the kind. *Spanhouse*: an unknown kind is a 400 (upstream's metrics message) rather
    than an empty answer."""
    if not value:
        return None
    if value not in SPAN_KINDS:
        raise parse_error(param, f"unsupported span kind: '{value}'")
    return "" if value == "unspecified" else value

