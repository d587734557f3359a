"""Known-answer data for the TraceQL metrics tests: one span per trace, described by ``SPANS``
(the tests compute every expected value from this table, never from query output).

``B`` is a whole number of minutes (steps of 10 s, 30 s and 60 s align on it). A span is
``Span(at_s, service, duration_ms, error, weight, attributes)``: it starts ``at_s`` seconds after
``B``; ``weight`` is its AdjustedCount (20: kept at 5%). ``service`` None is a resource without
``service.name``. Two spans lie outside the windows the tests ask about (before ``B - 300 s``
and after ``B + 600 s``); trace 100 has a cart span and a shop span; one span starts exactly
on a minute boundary (``B + 60 s``: Tempo's steps are right-closed, so it belongs to the step
that ends at 60 s).

``error_rate_batches`` is the sampling set: 4,000 traces over one hour, exactly 10% of them
errors, every error trace kept (AdjustedCount 1) and 5% of the others (AdjustedCount 20).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

from spanhouse.model.batch import SpanBatch

from tests.store.batches import add_set, add_span

S = 1_000_000_000
MS = 1_000_000
B = (time.time_ns() // (60 * S) - 180) * 60 * S
SERVER, ERROR, OK = 2, 2, 1


@dataclass(frozen=True)
class Span:
    at_s: float
    service: str | None
    duration_ms: float
    error: bool = False
    weight: float = 1.0
    attributes: dict = field(default_factory=dict)
    trace: int | None = None        # spans with the same number share a trace (default: own)
    parent: bool = False            # a child of the trace's first span

    @property
    def start_ns(self) -> int:
        return B + round(self.at_s * S)

    @property
    def duration_ns(self) -> int:
        return round(self.duration_ms * MS)


SPANS = (
    Span(5, "cart", 100, attributes={"tier": "free", "http.status_code": 200}),
    Span(15, "cart", 300, error=True, attributes={"tier": "paid", "http.status_code": 500}),
    Span(10, "shop", 10, attributes={"tier": "free"}),
    Span(60, "shop", 400, attributes={"http.status_code": 200}),        # on a step boundary
    Span(65, "cart", 50, weight=20, attributes={"tier": "free", "http.status_code": 200}),
    Span(70, "cart", 1200, error=True, weight=20,
         attributes={"tier": "free", "http.status_code": 503}),
    Span(95.5, None, 2000, attributes={"tier": "paid"}),                # no service.name
    Span(125, "shop", 800, error=True, weight=5, attributes={"http.status_code": 503}),
    Span(130, "shop", 0.000001),                                        # 1 ns: no log2 bucket
    Span(179, "cart", 3, weight=3, attributes={"ratio": 0.5}),
    Span(40, "cart", 20, attributes={"tier": "paid"}, trace=100),       # a cart -> shop trace
    Span(41, "shop", 30, trace=100, parent=True),
    Span(42, "shop", 25, trace=101),
    Span(-400, "cart", 100),                                            # before every window
    Span(700, "cart", 100, error=True),                                 # after every window
)


def trace_id(i: int, prefix: str = "ee") -> str:
    return f"{prefix}{i:030x}"


def _batch(spans, prefix: str) -> SpanBatch:
    b = SpanBatch()
    scope = b.add_scope("tests.traceql.metrics", "1.0")
    resources: dict[str | None, int] = {}
    weights: list[float] = []
    for i, span in enumerate(spans):
        if span.service not in resources:
            resources[span.service] = b.add_resource(span.service or "")
            add_set(b.resource_attributes,
                    {"service.name": span.service} if span.service else {"host.name": "h1"})
        number = i if span.trace is None else span.trace
        add_span(b, trace_id=trace_id(number, prefix), span_id=f"{i + 1:016x}",
                 parent=f"{i:016x}" if span.parent else "", name="op",
                 kind=SERVER, start=span.start_ns, end=span.start_ns + span.duration_ns,
                 resource=resources[span.service], scope=scope, attributes=span.attributes,
                 status=ERROR if span.error else OK)
        weights.append(span.weight)
    b.adjusted_count = weights
    b.sampling_policy = ["probabilistic" if w != 1 else "" for w in weights]
    return b


def batches() -> list[SpanBatch]:
    return [_batch(SPANS, "ee")]


# The window and step most tests ask about.
START, END, STEP = B, B + 180 * S, 60 * S


# ----------------------------------------------------------------------------- the reference
# Tempo's step rules (IntervalMapperQueryRange, AlignRequest) and ClickHouse's weighted
# quantile, written from their definitions: the tests' expected values come from these and
# SPANS.
def tempo_steps(start, end, step):
    """Tempo's aligned request: (origin, last); steps are (origin + k*step, origin + (k+1)*step]."""
    origin = start - start % step
    if origin > step:
        origin -= step
    return origin, end + (-end % step)


def stamp(span, start, end, step):
    """The sample timestamp (ms) of a span's step, None when outside the aligned window."""
    t = span.start_ns
    if step is None:
        return end // MS if start <= t <= end else None
    origin, last = tempo_steps(start, end, step)
    if not origin < t <= last:
        return None
    return (origin + -(-(t - origin) // step) * step) // MS      # ceil, in integers


def grouped(keep=lambda s: True, key=lambda s: (), start=START, end=END, step=STEP):
    """{series key: {timestamp ms: [spans]}} of the dataset's spans."""
    out = defaultdict(lambda: defaultdict(list))
    for span in SPANS:
        ts = stamp(span, start, end, step)
        if ts is not None and keep(span):
            out[key(span)][ts].append(span)
    return out


def weighted_quantile(pairs, q):
    """ClickHouse's quantileExactWeighted: the first value (ascending) whose running weight
    reaches q * total."""
    pairs = sorted(pairs)
    total, running = sum(w for _, w in pairs), 0
    for value, weight in pairs:
        running += weight
        if running >= q * total:
            return value
    return pairs[-1][0]


# ----------------------------------------------------------------------------- sampling
RATE_TRACES = 4_000
RATE_ERROR_SHARE = 0.10
RATE_KEPT_SHARE = 0.05
RATE_START = B - 3600 * S          # the hour before B
RATE_SECONDS = 3600


def error_rate_truth() -> tuple[list[tuple[float, bool]], list[int]]:
    """Every trace of the true traffic as (start second in the hour, is error), and the
    indexes of the ok traces the sampler keeps (exactly 5% of them, chosen at random)."""
    rng = random.Random(15)
    errors = set(rng.sample(range(RATE_TRACES), int(RATE_TRACES * RATE_ERROR_SHARE)))
    traces = [(rng.uniform(0, RATE_SECONDS - 1), i in errors) for i in range(RATE_TRACES)]
    ok = [i for i in range(RATE_TRACES) if i not in errors]
    kept = sorted(rng.sample(ok, round(len(ok) * RATE_KEPT_SHARE)))
    return traces, kept


def error_rate_spans() -> list[Span]:
    """The traffic after tail sampling: two spans per trace (root "api" and child "db"; an
    error trace's spans are both errors), errors with AdjustedCount 1, the kept ok traces
    with 20."""
    traces, kept = error_rate_truth()
    keep = set(kept)
    offset = (RATE_START - B) / S
    spans = []
    for i, (at, error) in enumerate(traces):
        if not error and i not in keep:
            continue
        weight = 1.0 if error else 1 / RATE_KEPT_SHARE
        spans.append(Span(offset + at, "api", 120, error=error, weight=weight, trace=i))
        spans.append(Span(offset + at + 0.01, "db", 40, error=error, weight=weight, trace=i,
                          parent=True))
    return spans


def error_rate_batches() -> list[SpanBatch]:
    return [_batch(error_rate_spans(), "ff")]
