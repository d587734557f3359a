"""TraceQL's regular expressions are RE2's: the syntax of Tempo's Go ``regexp`` and of
ClickHouse's ``match()``. They are checked with RE2 itself (google-re2), so what passes here
compiles in the store too (Python's ``re`` would refuse ``\\p{L}`` and accept lookarounds)."""

from __future__ import annotations

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False   # a bad pattern is the caller's error, answered as a 400


def compiles(pattern: str) -> bool:
    """Whether RE2 compiles ``pattern``."""
    try:
        re2.compile(pattern, options=_OPTIONS)
    except (re2.error, TypeError, ValueError):
        return False
    return True
