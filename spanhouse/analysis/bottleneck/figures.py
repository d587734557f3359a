"""How the bottleneck results show times and shares in JSON: milliseconds rounded to the
microsecond, shares rounded to four places (0 when the whole is empty)."""

from __future__ import annotations


def ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def share_of(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0
