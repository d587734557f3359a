"""Critical path and self time of one trace: pure functions over ``SpanRecord``s (no I/O).

**Critical path.** The chain of work that decided how long the request took. It is computed
the way Jaeger UI does (``jaeger-ui/.../TracePage/CriticalPath``): start at the root, walk back
from its end, and at every span pick the *last-finishing child* (LFC); its interval is on the
path, recurse into it, and when that child's own path is exhausted continue in the parent,
from the child's start, with the last child that finished at or before that time. What is not
covered by a chosen child is the parent's own time on the path. Children running in parallel
with a chosen child are not on the path (they did not delay the parent).

Before the walk the tree is *sanitized*, top-down from the root, as Jaeger does:

- a child that sticks out of its parent is clipped to the parent's (clipped) interval: a child
  starting before its parent (clock skew) starts at the parent's start, one ending after its
  parent ends at the parent's end;
- a child entirely outside its parent (nothing left after clipping) is dropped with its
  subtree;
- an *asynchronous* child does not block its parent and is taken off the parent's path: a
  CONSUMER span whose parent is a PRODUCER span, or a CONSUMER span that starts after its
  parent ended (the OTel spelling of Jaeger's ``FOLLOWS_FROM``). Its own subtree is walked on
  its own and reported as an async path.

Differences from Jaeger UI (deliberate): a child that ended exactly when the next one started
is on the path (Jaeger compares with ``<`` and hands that gap to the parent); only one root is
walked (several roots: the one ending last, ties to the longest); the walk is iterative (no
recursion limit on deep traces).

**Root.** A span without parent or whose parent is not in the trace.

**Self time.** A span's duration minus the union of its children's intervals, each clipped to
the span (never negative). Asynchronous children (as above) do not count: the span was not
waiting for them.

Times are Unix nanoseconds; every result is exact integer arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from spanhouse.model.enums import SpanKind
from spanhouse.model.span import SpanRecord


@dataclass(frozen=True, slots=True)
class Segment:
    """``[start_ns, end_ns)`` of the critical path spent in span ``span_id`` itself."""

    span_id: str
    start_ns: int
    end_ns: int

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True)
class CriticalPath:
    """The critical path of a trace (or of an async subtree, see ``async_paths``).

    ``segments`` are in chronological order and tile ``[root start, root end)`` without gaps
    or overlaps; ``span_times`` sums them per span (only spans with time on the path);
    ``duration_ns`` is the root's duration (so ``sum(span_times.values()) == duration_ns``).
    ``async_paths`` are the paths of the asynchronous subtrees hanging off this one (each
    starting at its CONSUMER span, not clipped to the producer, nested ones included).
    """

    root_span_id: str | None
    start_ns: int
    duration_ns: int
    segments: tuple[Segment, ...]
    span_times: Mapping[str, int] = field(default_factory=dict)
    async_paths: tuple["CriticalPath", ...] = ()


# ------------------------------------------------------------------ tree helpers
def _unique(spans: Iterable[SpanRecord]) -> dict[str, SpanRecord]:
    """Spans by id (a repeated id keeps the earliest-starting span)."""
    by_id: dict[str, SpanRecord] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        by_id.setdefault(span.span_id, span)
    return by_id


def _children(by_id: Mapping[str, SpanRecord]) -> dict[str, list[SpanRecord]]:
    children: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in by_id.values():
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children[parent].append(span)
    return children


def is_root(span: SpanRecord, by_id: Mapping[str, SpanRecord]) -> bool:
    parent = span.parent_span_id
    return not parent or parent not in by_id or parent == span.span_id


def roots(spans: Iterable[SpanRecord]) -> list[SpanRecord]:
    """The spans without a parent in the trace, by start time."""
    by_id = _unique(spans)
    return [s for s in by_id.values() if is_root(s, by_id)]


def find_root(spans: Iterable[SpanRecord]) -> SpanRecord | None:
    """The root the critical path starts from: the root ending last, ties to the longest
    (then the smallest span id); None for an empty trace."""
    candidates = roots(spans)
    if not candidates:
        return None
    return min(candidates, key=lambda s: (-s.end_ns, -s.duration_ns, s.span_id))


def is_async_child(child: SpanRecord, parent: SpanRecord) -> bool:
    """Whether ``child`` does not block ``parent``: a CONSUMER of a PRODUCER, or a CONSUMER
    that starts after its parent ended."""
    return child.kind == SpanKind.CONSUMER and (parent.kind == SpanKind.PRODUCER
                                                or child.start_ns >= parent.end_ns)


def union_length(intervals: Iterable[tuple[int, int]]) -> int:
    """Total length covered by half-open ``[start, end)`` intervals (empty ones ignored)."""
    total, cur_start, cur_end = 0, None, None
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    if cur_end is not None:
        total += cur_end - cur_start
    return total


# ------------------------------------------------------------------ self time
def self_times(spans: Sequence[SpanRecord]) -> dict[str, int]:
    """Per span id: duration minus the union of its (blocking) children clipped to it."""
    by_id = _unique(spans)
    children = _children(by_id)
    out = {}
    for span_id, span in by_id.items():
        start, end = span.start_ns, span.end_ns
        covered = union_length(
            (max(c.start_ns, start), min(c.end_ns, end))
            for c in children.get(span_id, ()) if not is_async_child(c, span))
        out[span_id] = max(span.duration_ns - covered, 0)
    return out


# ------------------------------------------------------------------ critical path
def _sanitize(root: SpanRecord, by_id: Mapping[str, SpanRecord],
              children: Mapping[str, list[SpanRecord]]
              ) -> tuple[dict[str, tuple[int, int]], dict[str, list[str]], list[str]]:
    """Top-down from ``root``: clipped intervals, blocking children (sorted for the walk: end
    descending, then longest, then span id) and the async children met on the way."""
    interval = {root.span_id: (root.start_ns, root.end_ns)}
    kids: dict[str, list[str]] = {}
    async_roots: list[str] = []
    stack = [root.span_id]
    while stack:
        span_id = stack.pop()
        p_start, p_end = interval[span_id]
        parent = by_id[span_id]
        chosen = []
        for child in children.get(span_id, ()):
            if child.span_id in interval:  # a cycle, or a repeated visit
                continue
            if is_async_child(child, parent):
                async_roots.append(child.span_id)
                continue
            c_start, c_end = max(child.start_ns, p_start), min(child.end_ns, p_end)
            if c_end <= c_start:  # outside the parent (or empty): dropped with its subtree
                continue
            interval[child.span_id] = (c_start, c_end)
            chosen.append(child.span_id)
            stack.append(child.span_id)
        chosen.sort(key=lambda c: (-interval[c][1], interval[c][0], c))
        kids[span_id] = chosen
    return interval, kids, async_roots


def _walk(root_id: str, interval: Mapping[str, tuple[int, int]],
          kids: Mapping[str, list[str]]) -> list[Segment]:
    """The LFC walk back from the root's end; segments in reverse chronological order."""
    out: list[Segment] = []
    # frame: [span id, next child index, cursor (the time still to explain, walking back)]
    frames = [[root_id, 0, interval[root_id][1]]]
    while frames:
        frame = frames[-1]
        span_id, i, cursor = frame
        start = interval[span_id][0]
        children = kids.get(span_id, ())
        descended = False
        while i < len(children) and cursor > start:
            child = children[i]
            i += 1
            c_start, c_end = interval[child]
            if c_end > cursor:  # ran in parallel with the child already on the path
                continue
            if c_end < cursor:
                out.append(Segment(span_id, c_end, cursor))
            frame[1], frame[2] = i, c_start
            frames.append([child, 0, c_end])
            descended = True
            break
        if descended:
            continue
        if cursor > start:
            out.append(Segment(span_id, start, cursor))
        frames.pop()
    return out


def _path_from(root: SpanRecord, by_id: Mapping[str, SpanRecord],
               children: Mapping[str, list[SpanRecord]], seen: set[str]) -> CriticalPath:
    interval, kids, async_roots = _sanitize(root, by_id, children)
    seen.update(interval)
    segments = tuple(reversed(_walk(root.span_id, interval, kids)))
    times: dict[str, int] = defaultdict(int)
    for segment in segments:
        times[segment.span_id] += segment.duration_ns
    nested = []
    for span_id in sorted(async_roots, key=lambda s: (by_id[s].start_ns, s)):
        if span_id not in seen:
            nested.append(_path_from(by_id[span_id], by_id, children, seen))
    # flatten: an async path's own async paths are listed after it, at the same level
    flat: list[CriticalPath] = []
    for path in nested:
        flat.append(CriticalPath(path.root_span_id, path.start_ns, path.duration_ns,
                                 path.segments, path.span_times))
        flat.extend(path.async_paths)
    return CriticalPath(root.span_id, root.start_ns, root.duration_ns, segments, dict(times),
                        tuple(flat))


def critical_path(spans: Sequence[SpanRecord]) -> CriticalPath:
    """The critical path of a trace from the root of ``find_root`` (empty for no spans)."""
    by_id = _unique(spans)
    root = find_root(by_id.values())
    if root is None:
        return CriticalPath(None, 0, 0, ())
    return _path_from(root, by_id, _children(by_id), set())


def critical_path_times(spans: Sequence[SpanRecord]) -> tuple[SpanRecord | None, dict[str, int]]:
    """(root, critical-path time per span id) without the async paths: the hot loop of the
    endpoint aggregate."""
    by_id = _unique(spans)
    root = find_root(by_id.values())
    if root is None:
        return None, {}
    interval, kids, _ = _sanitize(root, by_id, _children(by_id))
    times: dict[str, int] = defaultdict(int)
    for segment in _walk(root.span_id, interval, kids):
        times[segment.span_id] += segment.duration_ns
    return root, dict(times)


__all__ = ["Segment", "CriticalPath", "critical_path", "critical_path_times", "self_times",
           "find_root", "roots", "is_root", "is_async_child", "union_length"]
