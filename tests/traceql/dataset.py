"""The TraceQL search tests' dataset: hand-built traces with KNOWN answers.

Every span is a ``Span`` in ``SPANS``; tests derive their expectations from this list (plain
Python predicates over it), never from the engine's output. Times are milliseconds after the
trace's start (``START``), which is milliseconds after ``B``.

Trace   start  spans: id service "name" kind [start,end) status, attributes
CHECKOUT  0    c1 frontend "GET /checkout" server [0,800) root; http.route=/checkout,
                  http.status_code=500 (int), user.tier=free
               c2   cart "POST /cart" server [10,700) Error "cart failed"; cart.items=3 (int),
                    ratio=0.5 (double), retry=true (bool)
               c3     payment "charge" client [20,300) Error "card declined"; amount=12.5,
                      code="200" (string); event "exception" {exception.type=CardError}
               c4       db "SELECT" client [30,100) Ok; db.system=postgresql
               c5     payment "refund" client [310,400) Unset          (sibling of c3)
               c6   cart "GET /cart" internal [710,790) Unset           (sibling of c2)
BROWSE   1000  b1 frontend "GET /browse" server [0,200) root; http.route=/browse,
                  http.status_code=200, user.tier=paid
               b2   cart "GET /cart" client [10,100) Ok; link to CHECKOUT/c2
               b3   db "SELECT" client [100,150) Unset; event "cache.miss"
SLOW     2000  s1 frontend "GET /checkout" server [0,2000) root; http.route=/checkout,
                  http.status_code=200, user.tier=free
               s2   cart "POST /cart" server [10,1900) Ok; cart.items=1
               s3     payment "charge" client [20,1800) Unset; amount=99 (int), code=200 (int)
SAMPLED  3000  w1 frontend "GET /checkout" server [0,600) root; http.route=/checkout
               w2   payment "charge" client [10,500) Error "timeout"
               (both kept at 5%: AdjustedCount 20)
ORPHAN   4000  o1 cart "consume" consumer [0,100) (its parent was never stored)
               o2   db "INSERT" client [10,50) Error "deadlock"
HOSTILE  5000  h1 frontend "GET /search" server [0,10) root; SQL/regex text in attributes

Resources: frontend {service.name, deployment.environment=prod, shard=3 (int)}; cart
{service.name, deployment.environment=prod, region=eu}; payment {service.name,
deployment.environment=prod-eu, pci=true}; db {service.name, db.system=postgresql}.
Scopes: frontend spans "io.otel.flask" 1.2, others "tests.traceql" 0.1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from spanhouse.model.batch import SpanBatch

from tests.store.batches import add_set, add_span

MS = 1_000_000
B = (time.time_ns() // 1_000_000_000 - 7200) * 1_000_000_000

CHECKOUT = "c0000000000000000000000000000001"
BROWSE = "b0000000000000000000000000000002"
SLOW = "50000000000000000000000000000003"
SAMPLED = "5a000000000000000000000000000004"
ORPHAN = "00000000000000000000000000000005"
HOSTILE = "f0000000000000000000000000000006"
START = {CHECKOUT: 0, BROWSE: 1000, SLOW: 2000, SAMPLED: 3000, ORPHAN: 4000, HOSTILE: 5000}
WINDOW = (B - 1000 * MS, B + 60_000 * MS)

DROP = "x'; DROP TABLE otel_traces; --"
HOSTILE_ATTRS = {"q": DROP, "pattern": "a.b*c", "quote\"key'": "v\\'", "{p0:String}": "yes"}

UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = range(6)
UNSET, OK, ERROR = 0, 1, 2
KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")

RESOURCES = {
    "frontend": {"service.name": "frontend", "deployment.environment": "prod", "shard": 3},
    "cart": {"service.name": "cart", "deployment.environment": "prod", "region": "eu"},
    "payment": {"service.name": "payment", "deployment.environment": "prod-eu", "pci": True},
    "db": {"service.name": "db", "db.system": "postgresql"},
}
SCOPES = {"frontend": ("io.otel.flask", "1.2")}
DEFAULT_SCOPE = ("tests.traceql", "0.1")


@dataclass(frozen=True)
class Span:
    trace: str
    short: str                    # c1, b2, ...: the span id is derived from it
    parent: str | None            # short id of the parent, a foreign id, or None for a root
    service: str
    name: str
    kind: int
    start_ms: int
    end_ms: int
    status: int = UNSET
    message: str = ""
    attributes: dict = field(default_factory=dict)
    events: tuple = ()            # names
    links: tuple = ()             # (trace, short) pairs
    weight: float = 1.0

    @property
    def span_id(self) -> str:
        return sid(self.trace, self.short)

    @property
    def parent_id(self) -> str:
        if self.parent is None:
            return ""
        return self.parent if len(self.parent) == 16 else sid(self.trace, self.parent)

    @property
    def start_ns(self) -> int:
        return B + (START[self.trace] + self.start_ms) * MS

    @property
    def duration_ns(self) -> int:
        return (self.end_ms - self.start_ms) * MS

    @property
    def resource(self) -> dict:
        return RESOURCES[self.service]

    def attr(self, key: str):
        """Tempo's unscoped lookup: the span's attribute, else the resource's."""
        return self.attributes.get(key, self.resource.get(key))


def sid(trace: str, short: str) -> str:
    return f"{trace[:12]}{short.encode().hex():0>4}"


SPANS = [
    Span(CHECKOUT, "c1", None, "frontend", "GET /checkout", SERVER, 0, 800,
         attributes={"http.route": "/checkout", "http.status_code": 500, "user.tier": "free"}),
    Span(CHECKOUT, "c2", "c1", "cart", "POST /cart", SERVER, 10, 700, ERROR, "cart failed",
         attributes={"cart.items": 3, "ratio": 0.5, "retry": True}),
    Span(CHECKOUT, "c3", "c2", "payment", "charge", CLIENT, 20, 300, ERROR, "card declined",
         attributes={"amount": 12.5, "code": "200"}, events=("exception",)),
    Span(CHECKOUT, "c4", "c3", "db", "SELECT", CLIENT, 30, 100, OK,
         attributes={"db.system": "postgresql"}),
    Span(CHECKOUT, "c5", "c2", "payment", "refund", CLIENT, 310, 400),
    Span(CHECKOUT, "c6", "c1", "cart", "GET /cart", INTERNAL, 710, 790),
    Span(BROWSE, "b1", None, "frontend", "GET /browse", SERVER, 0, 200,
         attributes={"http.route": "/browse", "http.status_code": 200, "user.tier": "paid"}),
    Span(BROWSE, "b2", "b1", "cart", "GET /cart", CLIENT, 10, 100, OK,
         links=((CHECKOUT, "c2"),)),
    Span(BROWSE, "b3", "b1", "db", "SELECT", CLIENT, 100, 150, events=("cache.miss",)),
    Span(SLOW, "s1", None, "frontend", "GET /checkout", SERVER, 0, 2000,
         attributes={"http.route": "/checkout", "http.status_code": 200, "user.tier": "free"}),
    Span(SLOW, "s2", "s1", "cart", "POST /cart", SERVER, 10, 1900, OK,
         attributes={"cart.items": 1}),
    Span(SLOW, "s3", "s2", "payment", "charge", CLIENT, 20, 1800,
         attributes={"amount": 99, "code": 200}),
    Span(SAMPLED, "w1", None, "frontend", "GET /checkout", SERVER, 0, 600,
         attributes={"http.route": "/checkout"}, weight=20.0),
    Span(SAMPLED, "w2", "w1", "payment", "charge", CLIENT, 10, 500, ERROR, "timeout",
         weight=20.0),
    Span(ORPHAN, "o1", "deadbeefdeadbeef", "cart", "consume", CONSUMER, 0, 100),
    Span(ORPHAN, "o2", "o1", "db", "INSERT", CLIENT, 10, 50, ERROR, "deadlock"),
    Span(HOSTILE, "h1", None, "frontend", "GET /search", SERVER, 0, 10, attributes=HOSTILE_ATTRS),
]
BY_ID = {s.span_id: s for s in SPANS}


def trace_spans(trace: str) -> list[Span]:
    return [s for s in SPANS if s.trace == trace]


def root(trace: str) -> Span | None:
    return next((s for s in SPANS if s.trace == trace and s.parent is None), None)


def trace_start_ns(trace: str) -> int:
    return min(s.start_ns for s in trace_spans(trace))


def trace_duration_ns(trace: str) -> int:
    spans = trace_spans(trace)
    return max(s.start_ns + s.duration_ns for s in spans) - trace_start_ns(trace)


def parent_of(span: Span) -> Span | None:
    return BY_ID.get(span.parent_id)


def ancestors(span: Span) -> list[Span]:
    out, cur = [], parent_of(span)
    while cur is not None:
        out.append(cur)
        cur = parent_of(cur)
    return out


def batches() -> list[SpanBatch]:
    """The dataset as one batch per sampling weight (the writer takes per-span weights)."""
    out = []
    for weight in sorted({s.weight for s in SPANS}):
        batch = SpanBatch()
        resources, scopes = {}, {}
        for s in (s for s in SPANS if s.weight == weight):
            if s.service not in resources:
                resources[s.service] = batch.add_resource(s.service)
                add_set(batch.resource_attributes, RESOURCES[s.service])
            scope = SCOPES.get(s.service, DEFAULT_SCOPE)
            if scope not in scopes:
                scopes[scope] = batch.add_scope(*scope)
            add_span(batch, trace_id=s.trace, span_id=s.span_id, parent=s.parent_id,
                     name=s.name, kind=s.kind, start=s.start_ns,
                     end=s.start_ns + s.duration_ns, resource=resources[s.service],
                     scope=scopes[scope], attributes=s.attributes, status=s.status,
                     message=s.message,
                     events=[(s.start_ns + MS, e, {"exception.type": "CardError"}
                              if e == "exception" else {}, 0) for e in s.events],
                     links=[{"trace_id": t, "span_id": sid(t, short)} for t, short in s.links])
        batch.adjusted_count = [weight] * len(batch.name)
        batch.sampling_policy = ["probabilistic" if weight != 1.0 else ""] * len(batch.name)
        out.append(batch)
    return out
