"""The relation checks' shared ground: the slice of a big window they run over, the cheap
count that tells which of their queries have work, and the trace shapes two of them read.

The checks of relations between spans (``context_not_propagated``, ``async_hop_unlinked``,
``clock_skew``, ``huge_traces``) join every span of their lookup window with the others, so
their cost grows with the window. When the window holds more than
``options.max_checked_spans`` spans, they run over a slice of it holding about that many (its
latest settled part), with relatives looked up within ``min(window_margin_ns, slice length)``
of the slice: a deterministic sample, whose counts and examples are the slice's. Their
findings then say so in ``details["sample"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.report import Finding
from spanhouse.query.model import rfc3339

INT64_MAX = 2 ** 63 - 1


@dataclass(frozen=True)
class Kinds:
    """``doctor_kinds.sql``: how many spans each relation query would start from."""

    named: int = 0                            # settled CLIENT spans naming a callee
    unnamed: int = 0                          # ... naming none (and no db/messaging call)
    producers: int = 0                        # settled PRODUCER spans
    consumers: int = 0                        # CONSUMER spans
    calls: int = 0                            # SERVER spans with a parent


def count_kinds(ctx: Context) -> Kinds:
    rows = ctx.rows("doctor_kinds.sql", "span kinds")
    return Kinds(*(int(v) for v in rows[0])) if rows else Kinds()


def trace_shapes(ctx: Context) -> list[tuple]:
    """``doctor_traces.sql``: (problem, service, traces, estimated traces, max spans,
    examples) per orphan, multi_root and huge problem of the window's traces."""
    root_weight = "Weight" if ctx.tables.entry_error is not None else ctx.tables.weight
    return ctx.run(ctx.sql("doctor_traces.sql", roots=ctx.tables.roots, root_weight=root_weight),
                   "trace shapes", huge=ctx.t.huge_trace_spans)


def relation_slice(ctx: Context, window_spans: int) -> tuple[Context, dict | None]:
    """The context the relation checks run in: ``ctx`` itself, or, when the window holds more
    than ``options.max_checked_spans`` spans, a slice of it holding about that many (the
    latest settled part of the window: it ends at ``settled``), whose missing relatives are
    looked up within ``min(window_margin_ns, slice length)`` of it; with the slice's
    description for the findings (None: the whole window)."""
    limit = ctx.options.max_checked_spans
    if not limit or window_spans <= limit:
        return ctx, None
    start, end, settled = ctx.params["start"], ctx.params["end"], ctx.params["settled"]
    length = max((end - start) * limit // window_spans, 1)
    s_end = min(end, max(settled, start + length))
    s_start = max(s_end - length, start)
    margin = min(ctx.options.window_margin_ns, length)
    params = {"start": s_start, "end": s_end, "m0": 0, "m1": 0, "lo": max(s_start - margin, 0),
              "hi": min(s_end + margin, INT64_MAX), "settled": min(settled, s_end)}
    sample = {"start": rfc3339(s_start), "end": rfc3339(s_end),
              "window_spans": window_spans, "max_checked_spans": limit,
              "lookup_margin_ms": margin / 1e6,
              "note": "counts are those of this slice of the window"}
    return replace(ctx, params=params), sample


def with_sample(finding: Finding | None, sample: dict | None) -> Finding | None:
    """``finding`` saying it was found on a slice (``details["sample"]``) when it was."""
    if finding is None or sample is None:
        return finding
    return replace(finding, details=finding.details + (("sample", sample),))
