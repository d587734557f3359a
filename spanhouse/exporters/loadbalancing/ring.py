"""The collector's consistent hash ring (``exporter/loadbalancingexporter/consistent_hashing.go``),
ported so that a routing key lands on the very backend the collector would pick.

The ring is a circle of ``MAX_POSITIONS`` (36000: 360 degrees with two decimals). Each endpoint
string, exactly as the resolver produced it (``backend-1`` stays ``backend-1``: the default port
is added for dialling only, as upstream's ``endpointWithPort``), takes ``DEFAULT_WEIGHT`` points
``crc32_ieee(endpoint + byte(i)) % 36000``; a point another endpoint took first is skipped. A
routing key (the 16 raw trace-id bytes, or the ``service.name`` bytes) is hashed the same way
and served by the first point at or after it, wrapping to the first point of the ring.

``zlib.crc32`` is the IEEE polynomial that Go's ``crc32.NewIEEE`` computes, so the positions are
identical (tests/exporters/test_loadbalancing_ring.py checks upstream's vectors).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

MAX_POSITIONS = 36000
DEFAULT_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class RingItem:
    pos: int
    endpoint: str


def position_of(identifier: bytes) -> int:
    return zlib.crc32(identifier) % MAX_POSITIONS


def positions_for(endpoint: str, num_points: int) -> list[int]:
    """Upstream's ``positionsFor``: Go's ``byte(i)`` keeps the low 8 bits of the index."""
    raw = endpoint.encode()
    return [zlib.crc32(raw + bytes((i & 0xFF,))) % MAX_POSITIONS for i in range(num_points)]


def positions_for_endpoints(endpoints: Sequence[str], weight: int) -> list[RingItem]:
    """Upstream's ``positionsForEndpoints``: the first endpoint (in the given order) to take
    a position keeps it; the items sorted by position (positions are unique, so Go's
    unstable sort and Python's agree)."""
    taken: set[int] = set()
    items = []
    for endpoint in endpoints:
        for pos in positions_for(endpoint, weight):
            if pos in taken:
                continue
            taken.add(pos)
            items.append(RingItem(pos, endpoint))
    items.sort(key=lambda item: item.pos)
    return items


def bsearch(pos: int, items: Sequence[RingItem], lo: int, mid: int, hi: int) -> int:
    """Upstream's ``bsearch(pos, left, right)`` on index ranges (left ``items[lo:mid]``,
    right ``items[mid:hi]``): the index of the closest item at or after ``pos``, wrapping to
    the first item of ``left``. Kept as upstream wrote it (recursive halving), not replaced by
    ``bisect``, so that any corner it has, this has."""
    while True:
        if items[mid - 1].pos == pos:
            return mid - 1
        if items[mid].pos == pos:
            return mid
        if pos > items[hi - 1].pos:
            return lo
        if pos > items[mid - 1].pos:
            size = hi - mid
            if size == 1:
                return mid
            lo, mid = mid, mid + size // 2
            continue
        size = mid - lo
        if size == 1:
            return lo
        mid, hi = lo + size // 2, mid


class HashRing:
    """An immutable ring over ``endpoints`` (upstream's ``newHashRing``)."""

    def __init__(self, endpoints: Sequence[str], weight: int = DEFAULT_WEIGHT):
        self.items = positions_for_endpoints(endpoints, weight)
        self.endpoints = tuple(dict.fromkeys(endpoints))

    def __len__(self) -> int:
        return len(self.items)

    def index_for(self, identifier: bytes) -> int | None:
        size = len(self.items)
        if size == 0:
            return None
        return bsearch(position_of(identifier), self.items, 0, size // 2, size)

    def endpoint_for(self, identifier: bytes) -> str:
        """The endpoint responsible for ``identifier``; "" on an empty ring (as upstream)."""
        index = self.index_for(identifier)
        return "" if index is None else self.items[index].endpoint

    def endpoint_avoiding(self, identifier: bytes, excluded: frozenset[str] | set[str]) -> str:
        """The first endpoint not in ``excluded`` walking clockwise from ``identifier``'s
        point: where its spans go while their own backend is down. Taking the *next* one on
        the ring (not any live one) spreads a failed backend's share over the others the way
        removing it from the ring would, and every span of one trace still picks the same
        stand-in. "" when every endpoint is excluded."""
        index = self.index_for(identifier)
        if index is None:
            return ""
        size = len(self.items)
        for step in range(size):
            endpoint = self.items[(index + step) % size].endpoint
            if endpoint not in excluded:
                return endpoint
        return ""

    def equal(self, other: "HashRing | None") -> bool:
        return other is not None and self.items == other.items
