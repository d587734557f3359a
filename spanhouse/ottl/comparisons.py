"""OTTL's comparison operators (upstream ``pkg/ottl/compare.go``)."""

from __future__ import annotations

from typing import Any

from spanhouse.ottl.values import kind_of

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _ordered(a, b, op: str) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def compare(a: Any, b: Any, op: str) -> bool:
    """OTTL's ``compare``: nil equals only nil; numbers compare across int/float; strings and
    bytes lexically; bools by ==/!= (and false < true); values of different types are only
    ``!=``; anything else is false."""
    ka, kb = kind_of(a), kind_of(b)
    if ka == "nil" or kb == "nil":
        if ka == kb:                          # nil vs nil
            return op in ("==", "<=", ">=")
        return op == "!="
    if ka in ("int", "float") and kb in ("int", "float"):
        if ka != kb:
            a, b = float(a), float(b)
        return _ordered(a, b, op)
    if ka != kb:
        return op == "!="
    if ka == "bool":
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return (not a) and b
        if op == "<=":
            return (not a) or b
        if op == ">":
            return a and not b
        return a or not b
    if ka in ("string", "bytes"):
        return _ordered(a, b, op)
    # lists and maps: equality only
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    return False
