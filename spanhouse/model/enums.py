"""OTLP's span kind and status code: the integers on the wire and the spellings in the store.

The collector's ClickHouse exporter writes pdata's ``String()`` (``"Server"``, ``"Error"``);
older releases wrote the proto names (``"SPAN_KIND_SERVER"``, ``"STATUS_CODE_ERROR"``), so
readers accept both. Compare with these names, never with bare ``2``.
"""

from __future__ import annotations

from enum import IntEnum


class SpanKind(IntEnum):
    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(IntEnum):
    UNSET = 0
    OK = 1
    ERROR = 2


# The stored spellings, indexed by the enum integer.
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")
# Older exporter releases wrote the proto names; readers accept both spellings.
LEGACY_SPAN_KINDS = {f"SPAN_KIND_{k.upper()}": i for i, k in enumerate(SPAN_KINDS)}
LEGACY_STATUS_CODES = {f"STATUS_CODE_{s.upper()}": i for i, s in enumerate(STATUS_CODES)}
SPAN_KIND_CODES = {**{k: i for i, k in enumerate(SPAN_KINDS)}, **LEGACY_SPAN_KINDS}
STATUS_CODE_CODES = {**{s: i for i, s in enumerate(STATUS_CODES)}, **LEGACY_STATUS_CODES}
# Every stored spelling of an error status (SQL filters: ``StatusCode IN ERROR_SPELLINGS``).
ERROR_SPELLINGS = ("Error", "STATUS_CODE_ERROR")

# The W3C trace-flags "sampled" bit, as OTLP's span ``flags`` carry it in their low byte.
SAMPLED_FLAG = 0x01
