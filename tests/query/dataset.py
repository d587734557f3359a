"""The query tests' dataset: hand-built traces with KNOWN answers (see the expectations in
test_query_service.py; times are milliseconds after ``B``).

Trace     start  spans (service "name" kind, [start, end) ms, status)
ERR1      0      api-gateway "GET /checkout" server root [0,500) Error "upstream failed"
                 -> checkout "POST /checkout" server [10,450) Error "payment failed"
                    -> payment "charge" server [20,400) Error "card declined"
                       -> payment "SELECT cards" client [30,40) Ok
ERR2      1000   same shape; payment's message "insufficient funds"; "SELECT cards" Unset
OK        2000   api-gateway root [0,300) (user.id=u-7) -> checkout [10,250) Ok
                    -> payment "charge" [20,200) Ok, -> inventory "reserve" server [30,60)
SLOW      3000   api-gateway "GET /slow" root [0,2000) -> checkout [10,1900) (http.route)
SAMPLED   4000   api-gateway root [0,700) -> checkout [10,650) Error "timeout"; both spans
                 kept at 5% (AdjustedCount 20, policy "probabilistic")
FRAG      5000   root-less: inventory "reserve" server [0,400) (parent never stored)
                    -> inventory "SELECT stock" client [100,1200) Error "deadlock"
U1/U2/U3  10000, 20000, 40000: api-gateway "GET /profile" root [0,50) user.id=u-42
                    -> user-svc "load profile" server [5,40)
HOSTILE   50000  api-gateway "GET /search" root [0,10) with SQL and regex text in attributes
Resources: payment has deployment.environment=prod-eu, inventory prod-us.
"""

from __future__ import annotations

import time

from spanhouse.model.batch import SpanBatch

from tests.store.batches import add_set, add_span

MS = 1_000_000
# Recent (exporter DDL variants carry a TTL), whole seconds.
B = (time.time_ns() // 1_000_000_000 - 7200) * 1_000_000_000

ERR1 = "e1000000000000000000000000000001"
ERR2 = "e2000000000000000000000000000002"
OK = "0c000000000000000000000000000003"
SLOW = "51000000000000000000000000000004"
SAMPLED = "5a000000000000000000000000000005"
FRAG = "f0000000000000000000000000000006"
U1 = "a1000000000000000000000000000007"
U2 = "a2000000000000000000000000000008"
U3 = "a3000000000000000000000000000009"
HOSTILE = "b0000000000000000000000000000010"
ALL = [ERR1, ERR2, OK, SLOW, SAMPLED, FRAG, U1, U2, U3, HOSTILE]

START = {ERR1: 0, ERR2: 1000, OK: 2000, SLOW: 3000, SAMPLED: 4000, FRAG: 5000,
         U1: 10000, U2: 20000, U3: 40000, HOSTILE: 50000}
DURATION_MS = {ERR1: 500, ERR2: 500, OK: 300, SLOW: 2000, SAMPLED: 700, FRAG: 1200,
               U1: 50, U2: 50, U3: 50, HOSTILE: 10}
WINDOW = (B - 1000 * MS, B + 60_000 * MS)

DROP = "x'; DROP TABLE otel_traces; --"
HOSTILE_ATTRS = {"q": DROP, "pattern": "a.b*c", "quote\"key'": "v\\'", "multi\nline": "{p:String}"}

SERVER, CLIENT = 2, 3
UNSET, OK_STATUS, ERROR = 0, 1, 2


def _span_id(trace: str, n: int) -> str:
    return f"{trace[:14]}{n:02x}"


class _Builder:
    def __init__(self):
        self.batch = SpanBatch()
        self.resources: dict[str, int] = {}
        self.scope = self.batch.add_scope("tests.query", "1.0")
        self.weights: list[float] = []
        self.policies: list[str] = []

    def resource(self, service: str) -> int:
        if service not in self.resources:
            self.resources[service] = self.batch.add_resource(service)
            attrs = {"service.name": service}
            if service == "payment":
                attrs["deployment.environment"] = "prod-eu"
            if service == "inventory":
                attrs["deployment.environment"] = "prod-us"
            add_set(self.batch.resource_attributes, attrs)
        return self.resources[service]

    def span(self, trace: str, n: int, parent: int | str | None, service: str, name: str,
             kind: int, start_ms: int, end_ms: int, status: int = UNSET, message: str = "",
             attributes: dict | None = None, weight: float = 1.0, policy: str = "") -> None:
        t0 = B + START[trace] * MS
        parent_id = (parent if isinstance(parent, str) else
                     "" if parent is None else _span_id(trace, parent))
        add_span(self.batch, trace_id=trace, span_id=_span_id(trace, n), parent=parent_id,
                 name=name, kind=kind, start=t0 + start_ms * MS, end=t0 + end_ms * MS,
                 resource=self.resource(service), scope=self.scope, attributes=attributes,
                 status=status, message=message)
        self.weights.append(weight)
        self.policies.append(policy)


def _checkout_flow(b: _Builder, trace: str, *, errors: bool, payment_message: str = "",
                   db_status: int = UNSET, attrs: dict | None = None) -> None:
    err = ERROR if errors else UNSET
    b.span(trace, 1, None, "api-gateway", "GET /checkout", SERVER, 0, 500 if errors else 300,
           err, "upstream failed" if errors else "", attributes=attrs)
    b.span(trace, 2, 1, "checkout", "POST /checkout", SERVER, 10, 450 if errors else 250,
           err if errors else OK_STATUS, "payment failed" if errors else "")
    b.span(trace, 3, 2, "payment", "charge", SERVER, 20, 400 if errors else 200,
           err if errors else OK_STATUS, payment_message)
    if errors:
        b.span(trace, 4, 3, "payment", "SELECT cards", CLIENT, 30, 40, db_status)
    else:
        b.span(trace, 4, 2, "inventory", "reserve", SERVER, 30, 60)


def batches() -> list[SpanBatch]:
    """The dataset as two batches (the second one sampled: per-span adjusted counts)."""
    b = _Builder()
    _checkout_flow(b, ERR1, errors=True, payment_message="card declined", db_status=OK_STATUS)
    _checkout_flow(b, ERR2, errors=True, payment_message="insufficient funds")
    _checkout_flow(b, OK, errors=False, attrs={"user.id": "u-7"})
    b.span(SLOW, 1, None, "api-gateway", "GET /slow", SERVER, 0, 2000)
    b.span(SLOW, 2, 1, "checkout", "POST /checkout", SERVER, 10, 1900,
           attributes={"http.route": "/slow"})
    b.span(FRAG, 1, "deadbeefdeadbeef", "inventory", "reserve", SERVER, 0, 400)
    b.span(FRAG, 2, 1, "inventory", "SELECT stock", CLIENT, 100, 1200, ERROR, "deadlock")
    for trace in (U1, U2, U3):
        b.span(trace, 1, None, "api-gateway", "GET /profile", SERVER, 0, 50,
               attributes={"user.id": "u-42"})
        b.span(trace, 2, 1, "user-svc", "load profile", SERVER, 5, 40)
    b.span(HOSTILE, 1, None, "api-gateway", "GET /search", SERVER, 0, 10, attributes=HOSTILE_ATTRS)
    first = b.batch
    first.adjusted_count, first.sampling_policy = b.weights, b.policies

    s = _Builder()
    s.span(SAMPLED, 1, None, "api-gateway", "GET /checkout", SERVER, 0, 700,
           weight=20.0, policy="probabilistic")
    s.span(SAMPLED, 2, 1, "checkout", "POST /checkout", SERVER, 10, 650, ERROR, "timeout",
           weight=20.0, policy="probabilistic")
    second = s.batch
    second.adjusted_count, second.sampling_policy = s.weights, s.policies
    return [first, second]


def at(trace: str, ms: int = 0) -> int:
    """Unix nanoseconds of ``ms`` after ``trace``'s start."""
    return B + (START[trace] + ms) * MS
