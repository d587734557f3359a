"""OTTL's values: what an attribute reads as (its OTLP type kept), the type names the
comparison and math rules are written in, and the text ``IsMatch`` matches (upstream's
``StringLikeGetter``, ``pkg/ottl/expression.go``)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson

from spanhouse.model.attributes import ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING


def typed_value(found: tuple[str, int] | None) -> Any:
    """An attribute as OTTL sees it: str, int, float, bool, bytes, list, dict, or None."""
    if found is None:
        return None
    text, code = found
    if code == STRING:
        return text
    if code == INT:
        return int(text)
    if code == DOUBLE:
        return float(text)
    if code == BOOL:
        return text == "true"
    if code == BYTES:
        return base64.b64decode(text)
    if code in (ARRAY, KVLIST):
        return orjson.loads(text)
    if code == EMPTY:
        return None
    return text


def kind_of(value: Any) -> str:
    """The OTTL type of a value: nil, bool, int, float, string, bytes, or other (list, map)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    return "other"


def _go_format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, unique=True, trim="-")


def string_like(value: Any) -> str | None:
    """OTTL's ``StringLikeGetter`` (what ``IsMatch`` matches against)."""
    kind = kind_of(value)
    if kind == "nil":
        return None
    if kind == "string":
        return value
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(value)
    if kind == "float":
        return _go_format_float(value)
    if kind == "bytes":
        return value.hex()
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
