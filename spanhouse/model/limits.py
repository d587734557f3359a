"""The ranges every decoder checks numbers against, and the bounds of rejection messages.

A span is stored in the OTel Collector ClickHouse exporter's schema. A number that does not fit
its column does not fail alone: it fails the whole ``INSERT``, i.e. every span batched with it,
from every sender. So decoders check each number against the column it ends up in and reject
the offending span alone (``DecodeResult.reject``); the rest of the request is kept.

Times (``Timestamp``, ``Events.Timestamp``: ``DateTime64(9)``)
    ``0 <= t < MAX_TIME_NS``. ``DateTime64(9)`` is a signed 64-bit count of nanoseconds, so the
    latest instant it holds is ``2**63 - 1`` ns = 2262-04-11T23:47:16.854775807Z (checked on
    chDB: ``toDateTime64('2262-04-11 23:47:16.854775807', 9, 'UTC')`` is accepted, one ns more
    is "Decimal math overflow"). OTLP times are ``fixed64``, so a sender can go beyond it.
    ``MAX_TIME_NS`` itself is excluded too: it is ``INT64_MAX``, the "infinity" sentinel of many
    tools, never a real span time. 0 means "missing" in OTLP and is kept. Negative times cannot
    come from protobuf; from JSON or Zipkin they are rejected (the unsigned OTLP field has no
    such value). ``end < start`` is *not* rejected: the writer clamps ``Duration`` at 0.

Counters and flags (``TraceFlags``, ``Dropped*Count``, ``Links.Flags``...: ``UInt32``)
    ``0 <= n <= UINT32_MAX``, the range of the OTLP ``uint32``/``fixed32`` fields and of the
    columns. Protobuf cannot exceed it; JSON and Zipkin can (and can send negatives or
    fractions, which are rejected as well).

Enums (``kind``, ``status.code``)
    Never rejected: the store keeps its documented clamp (an unknown value is stored as the 0
    entry, ``Unspecified``/``Unset``). Protobuf enums are ``int32``, so a JSON value outside
    ``[ENUM_MIN, ENUM_MAX]`` could not have come from a protobuf sender; it is clamped to 0 at
    decode, so it can neither overflow the writer's int64 arrays nor break re-encoding to
    protobuf when the batch is forwarded.

Integer attribute values (``intValue``)
    ``INT64_MIN <= v <= INT64_MAX``: OTLP's ``AnyValue.int_value`` is ``int64``, and readers of
    the stored string (Spanhouse's own, Grafana, the exporter's tools) parse it as one.

Ports (Zipkin ``localEndpoint``/``remoteEndpoint``.``port``)
    ``0 <= p <= MAX_PORT`` (Zipkin's model has a 16-bit port; 0 means absent).

Nesting (``arrayValue`` / ``kvlistValue`` inside attribute values)
    At most ``MAX_VALUE_DEPTH`` levels of arrays and kvlists in one attribute value (``[1]`` is
    one level, ``[[1]]`` two). Decoding a value is recursive, so without a bound a few kilobytes
    of ``[[[[...]]]]`` would end in a ``RecursionError`` (a bare 500 that also lost the
    request's valid spans). OTLP/JSON: a deeper value rejects its span alone (a resource
    attribute: that resource's spans). OTLP protobuf: the parser itself refuses messages nested
    more than ``PROTOBUF_MAX_DEPTH`` deep (upb's limit), and a span it refuses is rejected alone
    (``otlp_proto.parse_request``), the others kept. In protobuf an array level costs 2 messages
    and a kvlist level 3, and an event's or a link's attribute value starts 7 messages down, so
    protobuf carries at most 31 kvlist levels there (7 + 3 * 31 = 100). ``MAX_VALUE_DEPTH`` stays
    below that everywhere: whatever JSON accepts re-encodes into a protobuf request every reader
    parses (the write-ahead log's feeder, a forwarding exporter's collector). Zipkin tags
    are strings; a nested JSON tag value is stored as its JSON text (as upstream), and one
    nested beyond orjson's 254 levels rejects its span.

Messages (``DecodeResult.error_message``, sent back in OTLP ``partial_success``)
    A value quoted in a message is cut to ``MAX_QUOTED_CHARS`` characters plus an ellipsis (a
    10 MiB span name must not be echoed back), one message is at most ``MAX_MESSAGE_BYTES``, and
    the whole ``error_message`` at most ``MAX_ERROR_MESSAGE_BYTES`` (UTF-8): it keeps the first
    ``MAX_MESSAGES`` messages that fit and ends with "(and N more spans rejected)".
"""

from __future__ import annotations

import reprlib

# ---------------------------------------------------------------------------------- numbers
MAX_TIME_NS = 2**63 - 1
"""Exclusive upper bound of a span/event time in Unix ns (2262-04-11T23:47:16.854775807Z)."""

UINT32_MAX = 2**32 - 1
"""Largest flags / dropped-count value (ClickHouse ``UInt32``, OTLP ``uint32``)."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Range of an integer attribute value (OTLP ``int64``)."""

ENUM_MIN = -(2**31)
ENUM_MAX = 2**31 - 1
"""Range of an OTLP enum value on the protobuf wire (``int32``); outside it, a JSON enum is 0."""

MAX_PORT = 2**16 - 1
"""Largest Zipkin endpoint port."""

# ---------------------------------------------------------------------------------- nesting
MAX_VALUE_DEPTH = 24
"""Most levels of ``arrayValue``/``kvlistValue`` in one attribute value (OTLP/JSON)."""

PROTOBUF_MAX_DEPTH = 100
"""Most nested messages the protobuf parser (upb) reads; a deeper span is rejected alone."""

# --------------------------------------------------------------------------------- messages
MAX_QUOTED_CHARS = 100
"""A span name or value quoted in a rejection message is cut to this many characters."""

MAX_MESSAGE_BYTES = 1024
"""Largest single rejection message (UTF-8 bytes), whatever its origin."""

MAX_ERROR_MESSAGE_BYTES = 4096
"""Largest ``DecodeResult.error_message`` (UTF-8 bytes), the "(and N more...)" tail included."""

MAX_MESSAGES = 10
"""At most this many rejection messages are spelled out; the rest are only counted."""

ELLIPSIS = "…"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, MAX_QUOTED_CHARS, MAX_QUOTED_CHARS


def _number(value: int, unit: str = "") -> str:
    if -(10**30) < value < 10**30:
        return f"{value} {unit}" if unit else str(value)
    return f"a {value.bit_length()}-bit integer"  # not thousands of digits


def quoted(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters plus an ellipsis.

    A long ``str`` is cut *before* ``repr``, so a 10 MiB name costs no 10 MiB copy."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + ELLIPSIS
    if isinstance(value, int) and not isinstance(value, bool):
        return _number(value)
    text = _REPR.repr(value)  # nesting and lengths bounded: a list 1000 deep is no RecursionError
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def out_of_range(what: str, value: int, low: int, high: int) -> str:
    """The message for an integer outside ``[low, high]`` (a huge one is not spelled out)."""
    return f"{what} must be in [{low}, {high}], not {_number(value)}"


def too_deep() -> str:
    """The message for an attribute value nested more than ``MAX_VALUE_DEPTH`` levels."""
    return f"arrayValue/kvlistValue nested more than {MAX_VALUE_DEPTH} levels deep"


def bad_time(what: str, value: int, unit: str = "ns") -> str:
    """The message for a time outside ``[0, MAX_TIME_NS)``, ``value`` in ``unit``."""
    return (f"{what} must be >= 0 and before 2262-04-11T23:47:16.854775807Z "
            f"({MAX_TIME_NS} ns), not {_number(value, unit)}")
