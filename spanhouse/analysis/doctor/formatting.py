"""How findings word their figures: example trace ids, lists of services, durations, sizes."""

from __future__ import annotations

MAX_EXAMPLES = 5


def examples(*groups) -> tuple[str, ...]:
    """Up to 5 distinct trace ids, taking from each group in turn (round robin)."""
    out: list[str] = []
    lists = [list(g) for g in groups]
    i = 0
    while len(out) < MAX_EXAMPLES and any(i < len(g) for g in lists):
        for g in lists:
            if i < len(g) and g[i] and g[i] not in out and len(out) < MAX_EXAMPLES:
                out.append(g[i])
        i += 1
    return tuple(out)


def join(names, limit: int = 4) -> str:
    """``a, b, c, d and 3 more``: distinct names in order, at most ``limit`` of them shown."""
    names = list(dict.fromkeys(names))
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def estimated(estimate: float, stored: int, unit: str) -> str:
    """``est. 240 spans (12 stored)``: a count of sampled units, the estimate (weighted by
    AdjustedCount) first, what is stored second."""
    return f"est. {estimate:,.0f} {unit} ({stored:,} stored)"


def ms(ns: float) -> str:
    return f"{ns / 1e6:,.0f} ms" if ns >= 1e6 else f"{ns / 1e3:,.0f} µs"


def byte_size(n: float) -> str:
    """``812 B``, ``1.5 KB`` ... ``3.2 TB`` (powers of 1000)."""
    units = ("B", "KB", "MB", "GB", "TB")
    unit = 0
    while n >= 1000 and unit < len(units) - 1:
        n /= 1000
        unit += 1
    return f"{n:,.0f} B" if unit == 0 else f"{n:,.1f} {units[unit]}"
