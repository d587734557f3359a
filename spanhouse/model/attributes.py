"""Attribute values: how an OTLP ``AnyValue`` becomes the ``String`` of a ClickHouse ``Map``.

The OTel Collector's ClickHouse exporter stores every attribute as ``pcommon.Value.AsString()``.
Spanhouse writes the very same strings, so tools built on that schema read our rows unchanged:

============  ===============================================  =====================
OTLP type     stored string                                    example
============  ===============================================  =====================
string        as is                                            ``GET``
bool          ``true`` / ``false``                             ``true``
int           decimal                                          ``-42``
double        shortest round-trip, ES6 style (Go's AsString)   ``0.25``, ``1e-7``
bytes         standard base64                                  ``AAEC``
array         compact JSON of the raw values                   ``[1,"a",true]``
kvlist        compact JSON object, keys sorted                 ``{"a":1}``
empty         empty string                                     ````
============  ===============================================  =====================

The exporter's schema has no place for the original type, so Spanhouse keeps it in an extra
column (``*AttributeTypes``: key -> type name, only for keys whose value is *not* a string).
Reading works without it: a missing entry means "string".
"""

from __future__ import annotations

import base64
import math

import numpy as np
import orjson

# Type codes in a SpanBatch (compact ints), and their names in the *AttributeTypes columns.
STRING, BOOL, INT, DOUBLE, BYTES, ARRAY, KVLIST, EMPTY = range(8)
TYPE_NAMES = ("string", "bool", "int", "double", "bytes", "array", "kvlist", "empty")
TYPE_CODES = {name: code for code, name in enumerate(TYPE_NAMES)}


def format_double(value: float) -> str:
    """Format a double as Go's ``pcommon.Value.AsString`` does (ES6 number-to-string)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    magnitude = abs(value)
    # Fast path: in this range Python's repr is already the shortest round-trip digits in
    # positional notation, like ES6; only the ".0" of whole numbers differs.
    if 1e-4 <= magnitude < 1e16:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return np.format_float_scientific(value, unique=True, trim="-", exp_digits=1)
    return np.format_float_positional(value, unique=True, trim="-")


def encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def json_compact(raw: object) -> str:
    """Compact JSON with sorted keys, as Go's ``json.Marshal`` of a map writes it."""
    return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def decode_typed(value: str, type_name: str | None):
    """Turn a stored string back into a Python value using its type name (None = string)."""
    if not type_name or type_name == "string":
        return value
    if type_name == "bool":
        return value == "true"
    if type_name == "int":
        return int(value)
    if type_name == "double":
        return float(value)
    if type_name == "bytes":
        return base64.b64decode(value)
    if type_name in ("array", "kvlist"):
        return orjson.loads(value)
    if type_name == "empty":
        return None
    return value
