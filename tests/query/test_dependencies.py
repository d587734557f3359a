"""The service map's edges (``QueryService.dependencies``) on a small data set of its own:
estimates weighted by AdjustedCount, weighted latencies, and the context-lost edges.

Times in ms after T0 (traces a minute apart); weights are per trace (every span of it):

- CALL   (w 1):  frontend "GET /" server root [0, 400) -> frontend "POST" client [10, 310)
                 peer.service=payment -> payment "charge" server [20, 300)   (a call edge)
- CALL20 (w 20): the same shape, payment "charge" [20, 120)                 (a call edge)
- LOST   (w 10): frontend root [0, 200) -> frontend "POST" client [10, 110), status Error,
                 server.address=payment:8080, NO child: payment's span is the root of
- ORPHAN (w 10): payment "charge" server root [20, 100)        (its own trace: context lost)
- LOST1  (w 1):  frontend root [0, 400) -> frontend "POST" client [10, 310), peer.service
                 "Payment" (case differs), no child                         (context lost)
- EXT    (w 1):  frontend root -> frontend "GET" client, server.address=api.example.com,
                 no child: an outside service, not an edge

Call edge frontend -> payment: stored 2, estimated 21; payment's durations 280 ms (w 1) and
100 ms (w 20): weighted p50 and p95 are 100 ms (100 ms holds 20/21 = 0.952 >= 0.95).
Context lost frontend -> payment: stored 2, estimated 11, errors 10 (rate 10/11); client
durations 100 ms (w 10), 300 ms (w 1): p50 100 ms, p95 300 ms (10/11 = 0.909 < 0.95).
"""

from __future__ import annotations

import pytest

from spanhouse.model.batch import SpanBatch
from spanhouse.query.model import Dependency
from spanhouse.query.service import QueryService
from spanhouse.store.pool import Pool
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter
from tests.query.conftest import new_database
from tests.query.dataset import B, MS
from tests.store.batches import add_set, add_span

SERVER, CLIENT, ERROR = 2, 3, 2
T0 = B + 3_600_000 * MS
MINUTE = 60_000 * MS
WINDOW = (T0 - MINUTE, T0 + 10 * MINUTE)


class Builder:
    def __init__(self):
        self.batch = SpanBatch()
        self.scope = self.batch.add_scope("tests.query", "1.0")
        self.resources: dict[str, int] = {}
        self.weights: list[float] = []

    def span(self, k: int, n: int, parent: int | None, service: str, name: str, kind: int,
             start_ms: int, end_ms: int, weight: float, status: int = 0,
             attributes: dict | None = None) -> None:
        if service not in self.resources:
            self.resources[service] = self.batch.add_resource(service)
            add_set(self.batch.resource_attributes, {"service.name": service})
        trace = f"{k:02x}" * 16
        t0 = T0 + k * MINUTE
        add_span(self.batch, trace_id=trace, span_id=f"{k:02x}{n:014x}",
                 parent="" if parent is None else f"{k:02x}{parent:014x}", name=name,
                 kind=kind, start=t0 + start_ms * MS, end=t0 + end_ms * MS,
                 resource=self.resources[service], scope=self.scope, status=status,
                 attributes=attributes)
        self.weights.append(weight)


def batch() -> SpanBatch:
    b = Builder()
    for k, (weight, charge_end) in enumerate([(1.0, 300), (20.0, 120)]):       # CALL, CALL20
        b.span(k, 1, None, "frontend", "GET /", SERVER, 0, 400, weight)
        b.span(k, 2, 1, "frontend", "POST", CLIENT, 10, 310, weight,
               attributes={"peer.service": "payment"})
        b.span(k, 3, 2, "payment", "charge", SERVER, 20, charge_end, weight)
    b.span(2, 1, None, "frontend", "GET /", SERVER, 0, 200, 10.0)                # LOST
    b.span(2, 2, 1, "frontend", "POST", CLIENT, 10, 110, 10.0, ERROR,
           attributes={"server.address": "payment:8080"})
    b.span(3, 1, None, "payment", "charge", SERVER, 20, 100, 10.0)              # ORPHAN
    b.span(4, 1, None, "frontend", "GET /", SERVER, 0, 400, 1.0)                # LOST1
    b.span(4, 2, 1, "frontend", "POST", CLIENT, 10, 310, 1.0,
           attributes={"peer.service": "Payment"})
    b.span(5, 1, None, "frontend", "GET /", SERVER, 0, 400, 1.0)                # EXT
    b.span(5, 2, 1, "frontend", "GET", CLIENT, 10, 310, 1.0,
           attributes={"server.address": "api.example.com"})
    b.batch.adjusted_count = b.weights
    return b.batch


@pytest.fixture(scope="module")
def database(client_factory) -> str:
    name = new_database("deps")
    create_schema(client_factory(), name, "otel_traces")
    TraceWriter(client_factory(), name, "otel_traces").write(batch())
    return name


@pytest.fixture(scope="module", params=[True, False], ids=["additions", "traces-table"])
def svc(client_factory, database, request) -> QueryService:
    """The same answers with Spanhouse's additions (the span graph) and without them."""
    return QueryService(Pool(client_factory, size=2), database, "otel_traces",
                        use_additions=request.param)


def test_call_edges_are_estimates(svc):
    edges = svc.dependencies(*WINDOW)
    assert [(e.kind, e.parent, e.child) for e in edges] == [
        ("call", "frontend", "payment"), ("context_lost", "frontend", "payment")]
    call = edges[0]
    assert (call.call_count, call.error_count) == (2, 0)
    assert (call.estimated_calls, call.estimated_errors) == (21.0, 0.0)
    assert (call.p50_ns, call.p95_ns) == (100 * MS, 100 * MS)
    assert call.to_json() == {
        "parent": "frontend", "child": "payment", "kind": "call", "calls": 21.0,
        "errors": 0.0, "error_rate": 0.0, "p50_ms": 100.0, "p95_ms": 100.0,
        "stored_calls": 2, "stored_errors": 0, "peer": None, "callCount": 2, "errorCount": 0}


def test_context_lost_edges(svc):
    lost = svc.dependencies(*WINDOW)[1]
    assert lost == Dependency("frontend", "payment", 2, 1, 11.0, 10.0, 100 * MS, 300 * MS,
                              kind="context_lost", peer="payment")
    assert lost.to_json()["error_rate"] == pytest.approx(10 / 11)


def test_a_child_after_the_window_is_not_a_lost_context(svc):
    # the window ends just after CALL20's client span started (its child starts 5 ms after
    # the end); payment has a server span in the window (CALL's), so only the late lookup of
    # children keeps CALL20's client span from being taken for a lost context
    edges = svc.dependencies(T0 - MINUTE, T0 + MINUTE + 15 * MS)
    assert [(e.kind, e.parent, e.child, e.call_count) for e in edges] == [
        ("call", "frontend", "payment", 1)]


def test_the_lost_context_query_reads_the_span_graph_when_there(svc, request):
    with svc.session() as (_client, tables):
        assert (tables.span_graph is not None) == request.node.callspec.params["svc"]
