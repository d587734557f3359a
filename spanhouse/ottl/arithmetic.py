"""OTTL's math expressions, ``+ - * /`` (upstream ``pkg/ottl/math.go``): int with int stays an
int64 (wrapping as Go does, division truncating toward zero), any float makes it float, and
anything else fails on that span (``OTTLRuntimeError``, which ``error_mode`` handles)."""

from __future__ import annotations

from typing import Any

from spanhouse.ottl.errors import OTTLRuntimeError
from spanhouse.ottl.values import kind_of

ADDITIVE = ("+", "-")
MULTIPLICATIVE = ("*", "/")


def arithmetic(a: Any, b: Any, op: str) -> Any:
    ka, kb = kind_of(a), kind_of(b)
    if ka not in ("int", "float") or kb not in ("int", "float"):
        raise OTTLRuntimeError(f"cannot compute {ka} {op} {kb}")
    if ka == "int" and kb == "int":
        if op == "+":
            return _int64(a + b)
        if op == "-":
            return _int64(a - b)
        if op == "*":
            return _int64(a * b)
        if b == 0:
            raise OTTLRuntimeError("attempted to divide by 0")
        q = abs(a) // abs(b)                      # Go truncates toward zero
        return q if (a >= 0) == (b >= 0) else -q
    a, b = float(a), float(b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise OTTLRuntimeError("attempted to divide by 0")
    return a / b


def _int64(v: int) -> int:
    return (v + 2 ** 63) % 2 ** 64 - 2 ** 63
