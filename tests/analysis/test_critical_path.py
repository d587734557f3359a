"""Critical path and self time (``spanhouse.analysis.critical_path``): hand-made traces with
exact expected paths, and the cases of Jaeger UI's critical-path tests
(jaegertracing/jaeger-ui, packages/jaeger-ui/src/components/TracePage/CriticalPath/testCases/
test1..test9, Apache-2.0), ported to OTel spans."""

from __future__ import annotations

import random

import pytest

from spanhouse.analysis.critical_path import (critical_path, critical_path_times, find_root,
                                              self_times, union_length)
from spanhouse.model.enums import SpanKind
from spanhouse.model.span import SpanRecord

INTERNAL, SERVER, CLIENT = SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT
KIND_PRODUCER, KIND_CONSUMER = SpanKind.PRODUCER, SpanKind.CONSUMER


def s(span_id: str, parent: str, start: int, duration: int, kind: int = SERVER,
      service: str = "svc") -> SpanRecord:
    return SpanRecord(trace_id="t" * 32, span_id=span_id, parent_span_id=parent, trace_state="",
                      flags=1, name=f"op {span_id}", kind=kind, service_name=service,
                      start_ns=start, duration_ns=duration, status_code=0, status_message="")


def path_of(spans) -> list[tuple[str, int, int]]:
    return [(seg.span_id, seg.start_ns, seg.end_ns) for seg in critical_path(spans).segments]


def check_tiling(spans) -> None:
    """Segments tile the root's interval exactly; per-span times sum to its duration."""
    path = critical_path(spans)
    root = find_root(spans)
    cursor = root.start_ns
    for seg in path.segments:
        assert seg.start_ns == cursor and seg.end_ns > seg.start_ns
        cursor = seg.end_ns
    assert cursor == root.end_ns
    assert sum(path.span_times.values()) == root.duration_ns
    assert critical_path_times(spans) == (root, dict(path.span_times))


# ------------------------------------------------------------------ hand-made cases
def test_sequential_children():
    #  P [0,100): A [10,30) B [30,60) C [60,90) back to back
    spans = [s("P", "", 0, 100), s("A", "P", 10, 20), s("B", "P", 30, 30), s("C", "P", 60, 30)]
    assert path_of(spans) == [("P", 0, 10), ("A", 10, 30), ("B", 30, 60), ("C", 60, 90),
                              ("P", 90, 100)]
    assert critical_path(spans).span_times == {"P": 20, "A": 20, "B": 30, "C": 30}
    assert self_times(spans) == {"P": 20, "A": 20, "B": 30, "C": 30}
    check_tiling(spans)


def test_parallel_children():
    #  P [0,100): A [10,50), B [10,80), C [20,40) all in parallel: only B (last to finish) counts
    spans = [s("P", "", 0, 100), s("A", "P", 10, 40), s("B", "P", 10, 70), s("C", "P", 20, 20)]
    assert path_of(spans) == [("P", 0, 10), ("B", 10, 80), ("P", 80, 100)]
    assert critical_path(spans).span_times == {"P": 30, "B": 70}
    assert self_times(spans) == {"P": 30, "A": 40, "B": 70, "C": 20}
    check_tiling(spans)


def test_parallel_then_sequential():
    #  P [0,100): A [10,40) and B [20,50) overlap; C [60,90) after both. After C, the walk
    #  continues from C's start with the last child that finished before it: B.
    spans = [s("P", "", 0, 100), s("A", "P", 10, 30), s("B", "P", 20, 30), s("C", "P", 60, 30)]
    assert path_of(spans) == [("P", 0, 20), ("B", 20, 50), ("P", 50, 60), ("C", 60, 90),
                              ("P", 90, 100)]
    assert self_times(spans)["P"] == 100 - 40 - 30
    check_tiling(spans)


def test_child_outliving_its_parent_is_clipped():
    #  P [0,100) -> A [50,150) -> G [120,140): A is clipped to [50,100), G falls outside it
    spans = [s("P", "", 0, 100), s("A", "P", 50, 100, CLIENT), s("G", "A", 120, 20)]
    assert path_of(spans) == [("P", 0, 50), ("A", 50, 100)]
    assert critical_path(spans).span_times == {"P": 50, "A": 50}
    # self time is the span's own: A's whole duration minus G
    assert self_times(spans) == {"P": 50, "A": 80, "G": 20}
    check_tiling(spans)


def test_producer_consumer_is_async():
    #  P server [0,100) -> Prod producer [10,20) -> Cons consumer [15,200) -> Work [50,180)
    spans = [s("P", "", 0, 100), s("Prod", "P", 10, 10, KIND_PRODUCER),
             s("Cons", "Prod", 15, 185, KIND_CONSUMER), s("Work", "Cons", 50, 130, INTERNAL)]
    path = critical_path(spans)
    assert path_of(spans) == [("P", 0, 10), ("Prod", 10, 20), ("P", 20, 100)]
    assert path.span_times == {"P": 90, "Prod": 10}
    assert [[(g.span_id, g.start_ns, g.end_ns) for g in a.segments] for a in path.async_paths] \
        == [[("Cons", 15, 50), ("Work", 50, 180), ("Cons", 180, 200)]]
    assert path.async_paths[0].root_span_id == "Cons"
    assert self_times(spans) == {"P": 90, "Prod": 10, "Cons": 55, "Work": 130}
    check_tiling(spans)


def test_consumer_starting_after_its_parent_ended_is_async():
    spans = [s("P", "", 0, 100), s("A", "P", 10, 20), s("C", "P", 150, 20, KIND_CONSUMER)]
    path = critical_path(spans)
    assert path_of(spans) == [("P", 0, 10), ("A", 10, 30), ("P", 30, 100)]
    assert [[(g.span_id, g.start_ns, g.end_ns) for g in a.segments] for a in path.async_paths] \
        == [[("C", 150, 170)]]
    assert self_times(spans) == {"P": 80, "A": 20, "C": 20}


def test_consumer_inside_a_server_span_blocks():
    # not a producer's child and started before its parent ended: it blocks
    spans = [s("P", "", 0, 100), s("C", "P", 10, 50, KIND_CONSUMER)]
    assert path_of(spans) == [("P", 0, 10), ("C", 10, 60), ("P", 60, 100)]


def test_clock_skew_child_starts_before_parent():
    #  P [100,200) -> A [90,150): A is clipped to [100,150)
    spans = [s("P", "", 100, 100), s("A", "P", 90, 60, SERVER, "other")]
    assert path_of(spans) == [("A", 100, 150), ("P", 150, 200)]
    assert critical_path(spans).span_times == {"A": 50, "P": 50}
    assert self_times(spans) == {"P": 50, "A": 60}
    check_tiling(spans)


def test_missing_parent_makes_a_root():
    #  X's parent was never stored: X is the root
    spans = [s("X", "gone", 0, 50), s("Y", "X", 10, 30)]
    assert find_root(spans).span_id == "X"
    assert path_of(spans) == [("X", 0, 10), ("Y", 10, 40), ("X", 40, 50)]
    assert self_times(spans) == {"X": 20, "Y": 30}
    check_tiling(spans)


def test_multiple_roots_take_the_one_ending_last_then_longest():
    spans = [s("R1", "", 0, 100), s("K", "R1", 10, 80), s("R2", "", 20, 130),
             s("R3", "lost", 50, 100), s("K2", "R2", 30, 40)]
    assert find_root(spans).span_id == "R2"  # R2 and R3 both end at 150; R2 is longer
    assert path_of(spans) == [("R2", 20, 30), ("K2", 30, 70), ("R2", 70, 150)]
    assert critical_path(spans).root_span_id == "R2"
    assert self_times(spans) == {"R1": 20, "K": 80, "R2": 90, "R3": 100, "K2": 40}


def test_nested_clipping_follows_the_clipped_parent():
    #  A [0,30) -> B [15,35) -> C [20,40): B clipped to [15,30), C to [20,30)
    spans = [s("A", "", 0, 30), s("B", "A", 15, 20), s("C", "B", 20, 20)]
    assert path_of(spans) == [("A", 0, 15), ("B", 15, 20), ("C", 20, 30)]


def test_zero_duration_and_identical_children():
    spans = [s("P", "", 0, 100), s("Z", "P", 50, 0), s("A", "P", 10, 40), s("B", "P", 10, 40)]
    # A and B are identical: one is on the path (the smaller span id), the other parallel
    assert path_of(spans) == [("P", 0, 10), ("A", 10, 50), ("P", 50, 100)]
    check_tiling(spans)


def test_empty_trace_and_cycles():
    assert critical_path([]).segments == () and find_root([]) is None
    # a parent cycle is never reached from the root
    spans = [s("R", "", 0, 10), s("X", "Y", 1, 2), s("Y", "X", 2, 3)]
    assert path_of(spans) == [("R", 0, 10)]
    assert self_times(spans)["R"] == 10


def test_deep_trace_does_not_recurse():
    spans = [s("0", "", 0, 10_000)] + [s(str(i), str(i - 1), i, 10_000 - 2 * i)
                                       for i in range(1, 3000)]
    check_tiling(spans)


def test_union_length():
    assert union_length([(0, 10), (5, 15), (20, 30), (30, 30), (25, 26)]) == 25
    assert union_length([]) == 0


@pytest.mark.parametrize("seed", range(30))
def test_random_traces_tile_the_root(seed):
    rng = random.Random(seed)
    spans = [s("r", "", 0, 1000)]
    for i in range(1, rng.randint(2, 40)):
        parent = rng.choice(spans)
        start = parent.start_ns + rng.randint(-20, parent.duration_ns + 20)
        kind = rng.choice([SERVER, CLIENT, INTERNAL, KIND_PRODUCER, KIND_CONSUMER])
        spans.append(s(f"s{i}", parent.span_id, start, rng.randint(0, 400), kind))
    check_tiling(spans)
    for span_id, own in self_times(spans).items():
        assert 0 <= own <= next(x.duration_ns for x in spans if x.span_id == span_id)


# ------------------------------------------------------------------ Jaeger UI's cases
# Each: the spans (id, parent, start, duration[, kind]) and Jaeger's expected sections, which
# Jaeger lists newest first.
JAEGER_CASES = {
    "test1": ([("span-E", "span-C", 50, 10), ("span-C", "", 1, 100), ("span-D", "span-C", 20, 20)],
              [("span-C", 60, 101), ("span-E", 50, 60), ("span-C", 40, 50), ("span-D", 20, 40),
               ("span-C", 1, 20)]),
    "test2": ([("span-X", "", 1, 100), ("span-A", "span-X", 10, 40), ("span-C", "span-X", 20, 40)],
              [("span-X", 60, 101), ("span-C", 20, 60), ("span-X", 1, 20)]),
    # traceWithSingleChildLongerThanParentAndStartsAfterParent.json: B starts after A ended
    "test3": ([("006c3cf93508f205", "", 100, 40), ("2dc4b796e2127e32", "006c3cf93508f205", 150, 60)],
              [("006c3cf93508f205", 100, 140)]),
    "test4": ([("span-A", "", 1, 30), ("span-B", "span-A", 40, 40), ("span-c", "span-B", 50, 10)],
              [("span-A", 1, 31)]),
    # FOLLOWS_FROM in Jaeger; in OTel: a CONSUMER under a PRODUCER
    "test5": ([("span-A", "", 1, 30, KIND_PRODUCER), ("span-B", "span-A", 10, 10, KIND_CONSUMER)],
              [("span-A", 1, 31)]),
    "test6": ([("span-A", "", 1, 29), ("span-B", "span-A", 15, 20), ("span-C", "span-B", 10, 15)],
              [("span-B", 25, 30), ("span-C", 15, 25), ("span-A", 1, 15)]),
    "test7": ([("span-A", "", 1, 29), ("span-B", "span-A", 15, 20), ("span-C", "span-B", 20, 20)],
              [("span-C", 20, 30), ("span-B", 15, 20), ("span-A", 1, 15)]),
    "test8": ([("span-A", "", 10, 20), ("span-B", "span-A", 5, 30)],
              [("span-B", 10, 30)]),
    "test9": ([("span-A", "", 10, 20), ("span-B", "span-A", 1, 4)],
              [("span-A", 10, 30)]),
}


@pytest.mark.parametrize("name", sorted(JAEGER_CASES))
def test_jaeger_ui_cases(name):
    raw, expected = JAEGER_CASES[name]
    spans = [s(*row) for row in raw]
    assert path_of(spans) == list(reversed(expected))
    check_tiling(spans)
