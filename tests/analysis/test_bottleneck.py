"""Bottlenecks (``spanhouse.analysis.bottleneck``): the seed's trace (pure and read back from
a chDB store) and an endpoint's aggregate over a small chDB data set with known answers.

Endpoint data set (api-gateway "GET /checkout", times in ms; gateway self time g, payment
"charge" time p, inventory "reserve" time i, all sequential so each is its critical-path time):

- current window [W0, W0 + 1h], traces at W0 + 5, 10, 15, 20, 25 min:
  (g, p) = (10, 100) + i 50, (20, 200), (30, 300), (40, 400), (50, 1000)
  -> gateway median 30 p95 48, payment median 300 p95 880, inventory median 0 p95 40;
     shares over 2200 ms: payment 2000, gateway 150, inventory 50;
- previous window [W0 - 1 - 1h, W0 - 1], traces at W0 - 10, 20, 30 min:
  (10, 100), (10, 100), (10, 200) -> payment median 100, gateway median 10;
- not counted: the same endpoint 2 h before W0, "GET /other" in the window, the seed trace.

Sampling-aware data set (api-gateway "GET /weighted", in the current window): FAST traces
(g, p) = (10, 100) each kept with AdjustedCount 20 (every span of the trace), SLOW traces
(g, p) = (100, 1000) with AdjustedCount 1. Stored: 2 fast, 3 slow -> stored median 1100 ms;
estimated: 40 fast + 3 slow = 43 traces -> weighted median 110 ms, p95 1100 ms (40 / 43 <
95%: quantileExactWeighted's first value whose cumulative weight reaches 95% is a slow one).
"""

from __future__ import annotations

import datetime as dt
import itertools
from contextlib import contextmanager

import pytest

from spanhouse.analysis.bottleneck import (analyze_trace, endpoint_bottlenecks, percentile,
                                           trace_bottleneck, weighted_percentile)
from spanhouse.analysis.store import AnalysisStore
from spanhouse.errors import InvalidInput, NotFound
from spanhouse.model.batch import SpanBatch
from spanhouse.model.enums import SpanKind
from spanhouse.model.span import records_from_batch
from spanhouse.store.pool import Pool
from tests.analysis.stores import loaded_databases
from tests.store.batches import add_set, add_span

MS = 1_000_000
MINUTE = 60_000 * MS
HOUR = 60 * MINUTE
W0 = (int(dt.datetime.now(dt.timezone.utc).timestamp()) - 3 * 3600) * 1_000_000_000
NOW = dt.datetime.fromtimestamp((W0 + HOUR) // 1_000_000_000, dt.timezone.utc)  # since=1h: [W0, W0+1h]

SEED = "5eed0000000000000000000000000001"
SEED_START = W0 + 30 * MINUTE
SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT
CURRENT = [(10, 100, 50), (20, 200, 0), (30, 300, 0), (40, 400, 0), (50, 1000, 0)]
PREVIOUS = [(10, 100, 0), (10, 100, 0), (10, 200, 0)]
FAST, SLOW, FAST_WEIGHT = (10, 100, 0), (100, 1000, 0), 20.0
WEIGHTED = [(FAST, FAST_WEIGHT)] * 2 + [(SLOW, 1.0)] * 3

_ids = itertools.count(1)


class Builder:
    def __init__(self):
        self.batch = SpanBatch()
        self.scope = self.batch.add_scope("tests.analysis", "1.0")
        self.resources: dict[str, int] = {}

    def resource(self, service: str) -> int:
        if service not in self.resources:
            self.resources[service] = self.batch.add_resource(service)
            add_set(self.batch.resource_attributes, {"service.name": service})
        return self.resources[service]

    def span(self, trace: str, span_id: str, parent: str, service: str, name: str, kind: int,
             t0: int, start_ms: float, end_ms: float, attributes: dict | None = None) -> None:
        add_span(self.batch, trace_id=trace, span_id=span_id, parent=parent, name=name,
                 kind=kind, start=t0 + int(start_ms * MS), end=t0 + int(end_ms * MS),
                 resource=self.resource(service), scope=self.scope, attributes=attributes)


def add_seed(b: Builder, trace: str = SEED, t0: int = SEED_START) -> None:
    """The seed's request: gateway 5 ms self -> auth 12 -> product 45 -> DB 120 -> cache 3."""
    b.span(trace, "00000000000000g1", "", "api-gateway", "GET /products", SERVER, t0, 0, 185,
           {"http.route": "/products"})
    b.span(trace, "00000000000000g2", "00000000000000g1", "api-gateway", "POST /auth/verify",
           CLIENT, t0, 2, 14)
    b.span(trace, "00000000000000a1", "00000000000000g2", "auth-service", "POST /verify",
           SERVER, t0, 2, 14)
    b.span(trace, "00000000000000g3", "00000000000000g1", "api-gateway", "GET /products",
           CLIENT, t0, 14, 182)
    b.span(trace, "00000000000000p1", "00000000000000g3", "product-service", "GET /products",
           SERVER, t0, 14, 182)
    b.span(trace, "00000000000000p2", "00000000000000p1", "product-service", "SELECT products",
           CLIENT, t0, 30, 150, {"db.system": "sqlite",
                                 "db.statement": "SELECT * FROM products WHERE active = 1"})
    b.span(trace, "00000000000000p3", "00000000000000p1", "product-service",
           "GET products:list", CLIENT, t0, 160, 163, {"db.system": "redis"})


def add_checkout(b: Builder, t0: int, g: int, p: int, i: int, root: str = "GET /checkout") -> str:
    trace = f"c{next(_ids):031x}"
    sid = lambda n: f"{trace[-14:]}{n:02x}"  # noqa: E731
    b.span(trace, sid(1), "", "api-gateway", root, SERVER, t0, 0, g + p + i)
    b.span(trace, sid(2), sid(1), "payment", "charge", SERVER, t0, g / 2, g / 2 + p)
    if i:
        b.span(trace, sid(3), sid(1), "inventory", "reserve", SERVER, t0, g / 2 + p,
               g / 2 + p + i)
    return trace


def dataset() -> tuple[SpanBatch, dict]:
    b = Builder()
    add_seed(b)
    current = [add_checkout(b, W0 + (k + 1) * 5 * MINUTE, *row) for k, row in enumerate(CURRENT)]
    previous = [add_checkout(b, W0 - (k + 1) * 10 * MINUTE, *row)
                for k, row in enumerate(PREVIOUS)]
    add_checkout(b, W0 - 2 * HOUR, 999, 999, 0)
    add_checkout(b, W0 + 7 * MINUTE, 999, 999, 0, root="GET /other")
    weights = [1.0] * len(b.batch.trace_id)
    for k, (row, weight) in enumerate(WEIGHTED):
        first = len(b.batch.trace_id)
        add_checkout(b, W0 + 3 * MINUTE + k * MINUTE, *row, root="GET /weighted")
        weights += [weight] * (len(b.batch.trace_id) - first)
    b.batch.adjusted_count = weights
    return b.batch, {"current": current, "previous": previous}


# ------------------------------------------------------------------ a chDB store
@contextmanager
def chdb_store(tmp_path_factory, batch: SpanBatch):
    """An ``AnalysisStore`` over a fresh database holding ``batch``."""
    with loaded_databases(tmp_path_factory, "chdb-analysis", {"bottleneck": [batch]}) as (
            factory, databases):
        yield AnalysisStore(Pool(factory, size=2), databases["bottleneck"], "otel_traces")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    batch, ids = dataset()
    with chdb_store(tmp_path_factory, batch) as store:
        yield store, ids


# ------------------------------------------------------------------ one trace
def seed_spans():
    b = Builder()
    add_seed(b)
    return records_from_batch(b.batch)


def check_seed(result) -> None:
    assert result.trace_id == SEED
    assert (result.root_service, result.root_operation) == ("api-gateway", "GET /products")
    assert result.duration_ns == 185 * MS
    found = result.bottleneck
    assert (found.span_id, found.service, found.operation, found.db_system) == (
        "00000000000000p2", "product-service", "SELECT products", "sqlite")
    assert found.critical_path_ns == found.self_ns == 120 * MS
    assert result.share == pytest.approx(120 / 185)
    assert [(h.service, h.operation, h.db_system, h.time_ns // MS) for h in result.path] == [
        ("api-gateway", "GET /products", "", 5),
        ("auth-service", "POST /verify", "", 12),
        ("product-service", "GET /products", "", 45),
        ("product-service", "SELECT products", "sqlite", 120),
        ("product-service", "GET products:list", "redis", 3),
    ]
    assert sum(h.time_ns for h in result.path) == result.duration_ns
    own = {s.span_id[-2:]: (s.self_ns // MS, s.critical_path_ns // MS) for s in result.spans}
    assert own == {"g1": (5, 5), "g2": (0, 0), "a1": (12, 12), "g3": (0, 0), "p1": (45, 45),
                   "p2": (120, 120), "p3": (3, 3)}
    t0 = SEED_START
    assert [(g.span_id[-2:], (g.start_ns - t0) // MS, (g.end_ns - t0) // MS)
            for g in result.segments] == [
        ("g1", 0, 2), ("a1", 2, 14), ("p1", 14, 30), ("p2", 30, 150), ("p1", 150, 160),
        ("p3", 160, 163), ("p1", 163, 182), ("g1", 182, 185)]


def test_seed_trace_pure():
    check_seed(analyze_trace(SEED, seed_spans()))


def test_seed_trace_json():
    data = analyze_trace(SEED, seed_spans()).to_json()
    assert data["bottleneck"] == {
        "span_id": "00000000000000p2", "service": "product-service",
        "operation": "SELECT products", "db_system": "sqlite", "critical_path_ms": 120.0,
        "self_time_ms": 120.0, "share": 0.6486}
    assert data["duration_ms"] == 185.0 and data["root"]["service"] == "api-gateway"
    assert [h["time_ms"] for h in data["path"]] == [5.0, 12.0, 45.0, 120.0, 3.0]
    assert data["path"][0]["db_system"] is None and data["path"][3]["db_system"] == "sqlite"
    assert len(data["critical_path"]) == 8 and data["async_paths"] == []
    assert {s["span_id"][-2:]: s["self_time_ms"] for s in data["spans"]}["p1"] == 45.0


def test_seed_trace_from_the_store(loaded):
    store, _ = loaded
    check_seed(trace_bottleneck(store, SEED))
    check_seed(trace_bottleneck(store, SEED.upper()))


def test_unknown_and_bad_trace_ids(loaded):
    store, _ = loaded
    with pytest.raises(NotFound):
        trace_bottleneck(store, "0" * 31 + "9")
    with pytest.raises(InvalidInput):
        trace_bottleneck(store, "nope")


# ------------------------------------------------------------------ an endpoint
def test_percentile():
    assert percentile([10, 20, 30, 40, 50], 0.5) == 30
    assert percentile([10, 20, 30, 40, 50], 0.95) == pytest.approx(48)
    assert percentile([7], 0.95) == 7 and percentile([], 0.5) == 0


def test_endpoint_aggregate(loaded):
    store, _ = loaded
    result = endpoint_bottlenecks(store, "api-gateway", "GET /checkout", W0, W0 + HOUR)
    assert (result.window.traces, result.window.total_traces, result.window.capped) == (5, 5, False)
    assert result.previous_window.traces == 3
    assert (result.previous_window.start_ns, result.previous_window.end_ns) == (
        W0 - 1 - HOUR, W0 - 1)
    rows = {(r.service, r.operation): r for r in result.rows}
    assert [(r.service, r.operation) for r in result.rows] == [
        ("payment", "charge"), ("api-gateway", "GET /checkout"), ("inventory", "reserve")]
    pay, gw, inv = (rows[("payment", "charge")], rows[("api-gateway", "GET /checkout")],
                    rows[("inventory", "reserve")])
    assert (pay.current.median_ns, pay.current.p95_ns) == (300 * MS, pytest.approx(880 * MS))
    assert (gw.current.median_ns, gw.current.p95_ns) == (30 * MS, pytest.approx(48 * MS))
    assert (inv.current.median_ns, inv.current.p95_ns) == (0, pytest.approx(40 * MS))
    assert pay.current.share == pytest.approx(2000 / 2200)
    assert gw.current.share == pytest.approx(150 / 2200)
    assert inv.current.share == pytest.approx(50 / 2200)
    assert (pay.current.traces_on_path, inv.current.traces_on_path) == (5, 1)
    assert pay.previous.median_ns == 100 * MS and gw.previous.median_ns == 10 * MS
    assert pay.change() == {"median_ms": 200.0, "median_ratio": 2.0,
                            "share": round(2000 / 2200 - 400 / 430, 4)}
    assert inv.previous is None  # not on the path before
    assert result.window.median_duration_ns == 330 * MS


def test_endpoint_json_and_cap(loaded):
    store, _ = loaded
    result = endpoint_bottlenecks(store, "api-gateway", "GET /checkout", W0, W0 + HOUR,
                                  max_traces=2)
    # the newest two: (40, 400) and (50, 1000)
    assert (result.window.traces, result.window.total_traces, result.window.capped) == (2, 5, True)
    data = result.to_json()
    assert data["window"]["capped"] is True and data["max_traces"] == 2
    first = data["operations"][0]
    assert first["service"] == "payment" and first["median_ms"] == 700.0
    assert set(first) == {"service", "operation", "median_ms", "p95_ms", "share",
                          "traces_on_path", "estimated_traces_on_path", "previous", "change"}
    assert set(first["previous"]) == {"median_ms", "p95_ms", "share", "traces_on_path",
                                      "estimated_traces_on_path"}
    # the window's figures cover every trace of the window, not only the two analyzed ones
    assert data["window"]["stored_traces"] == 5 and data["window"]["estimated_traces"] == 5.0
    assert data["window"]["median_duration_ms"] == 330.0


def test_weighted_percentile():
    # equal weights: numpy's linear interpolation, as percentile
    assert weighted_percentile([(v, 1.0) for v in (10, 20, 30, 40, 50)], 0.95) == pytest.approx(48)
    # weight 3 = three copies: [1, 1, 1, 5] -> median (rank 1.5) is 1, p95 (rank 2.85) 4.4
    assert weighted_percentile([(5, 1.0), (1, 3.0)], 0.5) == 1
    assert weighted_percentile([(5, 1.0), (1, 3.0)], 0.95) == pytest.approx(1 + 4 * 0.85)
    assert weighted_percentile([], 0.5) == 0


def test_endpoint_weighted_by_adjusted_count(loaded):
    store, _ = loaded
    result = endpoint_bottlenecks(store, "api-gateway", "GET /weighted", W0, W0 + HOUR)
    fast = sum(FAST[:2]) * MS
    slow = sum(SLOW[:2]) * MS
    stored = len(WEIGHTED)
    estimated = sum(w for _, w in WEIGHTED)
    win = result.window
    assert (win.traces, win.total_traces) == (stored, stored)
    assert win.estimated_traces == estimated
    assert win.stored_median_duration_ns == slow          # 3 of the 5 stored are slow
    assert win.median_duration_ns == fast                 # 40 of the 43 estimated are fast
    assert win.p95_duration_ns == slow and win.p99_duration_ns == slow
    rows = {(r.service, r.operation): r for r in result.rows}
    pay = rows[("payment", "charge")]
    assert pay.current.median_ns == FAST[1] * MS
    assert pay.current.traces_on_path == stored
    assert pay.current.estimated_traces_on_path == estimated
    total = sum((row[0] + row[1]) * w for row, w in WEIGHTED)
    assert pay.current.share == pytest.approx(sum(row[1] * w for row, w in WEIGHTED) / total)
    data = result.to_json()["window"]
    assert (data["estimated_traces"], data["stored_traces"]) == (estimated, stored)
    assert (data["median_duration_ms"], data["stored_median_duration_ms"]) == (
        fast / MS, slow / MS)


def test_endpoint_without_traces(loaded):
    store, _ = loaded
    result = endpoint_bottlenecks(store, "api-gateway", "GET /nothing", W0, W0 + HOUR)
    assert result.rows == () and result.window.traces == 0
    assert result.to_json()["operations"] == []


def test_endpoint_bad_input(loaded):
    store, _ = loaded
    with pytest.raises(InvalidInput):
        endpoint_bottlenecks(store, "", "GET /checkout", W0, W0 + HOUR)
    with pytest.raises(InvalidInput):
        endpoint_bottlenecks(store, "api-gateway", "GET /checkout", W0 + HOUR, W0)
    with pytest.raises(InvalidInput):
        endpoint_bottlenecks(store, "api-gateway", "GET /checkout", W0, W0 + HOUR, max_traces=0)
    # hostile text is a bound parameter: no match, no error
    result = endpoint_bottlenecks(store, "x'; DROP TABLE otel_traces; --", "{p:String}",
                                  W0, W0 + HOUR)
    assert result.window.traces == 0
