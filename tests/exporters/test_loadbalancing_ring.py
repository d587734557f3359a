"""The ring against upstream's own vectors (exporter/loadbalancingexporter/
consistent_hashing_test.go), so a trace id routes where the collector routes it, and the
movement bound that makes consistent hashing worth having."""

from __future__ import annotations

import bisect
import random

import pytest

from spanhouse.exporters.loadbalancing.ring import (
    DEFAULT_WEIGHT, HashRing, RingItem, bsearch, positions_for, positions_for_endpoints,
)


def test_new_hash_ring_has_weight_points_per_endpoint():  # TestNewHashRing
    assert len(HashRing(["endpoint-1", "endpoint-2"]).items) == 2 * DEFAULT_WEIGHT


@pytest.mark.parametrize("trace_id, expected", [
    # TestEndpointFor, newest: raw ids, and service names (routing_key: service)
    (bytes([1, 2, 0, 0]), "endpoint-1"),
    (bytes([128, 128, 0, 0]), "endpoint-2"),
    (b"ad-service-7", "endpoint-1"),
    (b"get-recommendations-1", "endpoint-2"),
    # TestEndpointFor, older: the same first bytes in a whole 16-byte pdata.TraceID
    (bytes([1, 2]) + bytes(14), "endpoint-1"),
    (bytes([128, 128]) + bytes(14), "endpoint-2"),
])
def test_endpoint_for(trace_id, expected):
    assert HashRing(["endpoint-1", "endpoint-2"]).endpoint_for(trace_id) == expected


def test_positions_for_gives_num_points():  # TestPositionsFor
    assert len(positions_for("host1", 10)) == 10


@pytest.mark.parametrize("requested, expected", [  # TestBinarySearch
    (85, 121), (14, 14), (351, 14), (270, 270), (271, 350),
])
def test_binary_search(requested, expected):
    items = [RingItem(p, "") for p in (14, 25, 33, 47, 56, 121, 134, 158, 240, 270, 350)]
    size = len(items)
    assert items[bsearch(requested, items, 0, size // 2, size)].pos == expected


E1, E2 = "endpoint-1", "endpoint-2"


@pytest.mark.parametrize("endpoints, expected", [  # TestPositionsForEndpoints
    ([E1], [(1401, E1), (4175, E1), (14133, E1), (17836, E1), (21667, E1)]),
    ([E1, E1], [(1401, E1), (4175, E1), (14133, E1), (17836, E1), (21667, E1)]),
    ([E1, E2], [(1401, E1), (4175, E1), (10240, E2), (14133, E1), (15002, E2),
                (17836, E1), (21263, E2), (21667, E1), (26806, E2), (27020, E2)]),
])
def test_positions_for_endpoints(endpoints, expected):
    assert positions_for_endpoints(endpoints, 5) == [RingItem(p, e) for p, e in expected]


def test_equal():  # TestEqual
    original = HashRing([E1])
    assert original.equal(HashRing([E1]))
    assert not original.equal(None)
    assert not original.equal(HashRing([]))
    assert not original.equal(HashRing([E1, E2]))
    assert not original.equal(HashRing([E2]))


def test_the_ported_search_is_the_clockwise_successor():
    """Upstream's halving search equals "first point at or after, else wrap" everywhere."""
    ring = HashRing(["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"])
    positions = [item.pos for item in ring.items]
    size = len(ring.items)
    for pos in range(0, 36000, 7):
        i = bisect.bisect_left(positions, pos)
        assert bsearch(pos, ring.items, 0, size // 2, size) == (i if i < size else 0), pos


def test_a_fourth_backend_moves_at_most_about_a_third_of_the_traces():
    """Adding backend n+1 should move ~1/(n+1) of the keys (upstream: "around 1/n of the
    space will be changed"), and only to the new backend. With 100 points per endpoint the
    new backend's arcs are uneven, so the bound allows its share up to 1/3."""
    rng = random.Random(16)
    ids = [rng.randbytes(16) for _ in range(100_000)]
    three = HashRing(["backend-1:4317", "backend-2:4317", "backend-3:4317"])
    four = HashRing(["backend-1:4317", "backend-2:4317", "backend-3:4317", "backend-4:4317"])
    before = [three.endpoint_for(i) for i in ids]
    after = [four.endpoint_for(i) for i in ids]
    moved = [(b, a) for b, a in zip(before, after) if b != a]
    fraction = len(moved) / len(ids)
    assert all(a == "backend-4:4317" for _, a in moved), "a key moved between old backends"
    assert 0.1 < fraction <= 1 / 3, f"{fraction:.4f} of 100,000 trace ids moved (bound 1/3)"
    print(f"adding a 4th backend moved {fraction:.4f} of 100,000 trace ids")


def test_next_backend_on_the_ring_is_where_the_ring_without_it_would_send():
    """Fail-over (endpoint_avoiding) leaves the keys of live backends where they are, and
    sends a down backend's keys where a ring without it sends them, except where that ring
    differs by a point the down backend had taken from another endpoint first (upstream
    skips a taken point; without the taker the other endpoint keeps it)."""
    endpoints = ["a:4317", "b:4317", "c:4317"]
    ring, without_b = HashRing(endpoints), HashRing(["a:4317", "c:4317"])
    rng = random.Random(3)
    differ = 0
    for _ in range(20_000):
        key = rng.randbytes(16)
        own = ring.endpoint_for(key)
        chosen = ring.endpoint_avoiding(key, {"b:4317"})
        if own != "b:4317":
            assert chosen == own
        else:
            assert chosen in ("a:4317", "c:4317")
            differ += chosen != without_b.endpoint_for(key)
    assert differ / 20_000 < 0.01, f"{differ} of 20,000 keys differ from the ring without b"
    assert ring.endpoint_avoiding(b"x", set(endpoints)) == ""
