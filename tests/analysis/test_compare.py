"""``spanhouse.analysis.compare`` against a real chDB store with hand-built traces.

Window A (``WINDOW_A``), 100 traces: api-gateway "GET /checkout" root -> orders-db "query".
- 90 fast traces (50..139 ms): user.tier "paid" (80) or "free" (10); db.statement one of three
  ordinary statements; orders-db at service.version 1.9; a unique order.id and cache.key each.
- 10 slow traces (1500..1950 ms): user.tier "free", db.statement SLOW_SQL, orders-db at 2.0,
  cache.key "hot" (a key with a value per trace elsewhere: unbounded, skipped), unique order.id.

Window B (``WINDOW_B``), 16 traces: api-gateway "GET /pay" root (cloud.region) -> payments
"charge". 6 failing traces (charge has status Error): 3 eu + 3 us, weight 1. 10 ok traces:
5 eu at weight 1, 5 us kept at 5% (root AdjustedCount 20, child 1): the baseline estimates
5 eu against 100 us traces, so eu is over-represented among failures (0.5 vs 5/105) although
the stored traces split evenly.

Window C (``WINDOW_C``), 20 traces: shop "POST /pay" roots, one span each. 8 failing ones
(status Error, message "card declined", an "exception" event of type CardError, http.method
and http.request.method "PUT", on the instance whose service.instance.id is UUID_A); 12 ok
ones ("POST" under both keys, instance UUID_B). Every one of those values is held by all 8
failing traces and none of the others: the ranking decides (identifiers last, aliases one row).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import warnings

import pytest
from starlette.applications import Starlette

from spanhouse.analysis.compare import (
    MAX_TRACES, AttributeDiff, CompareResult, Selection, compare, parse_where,
)
from spanhouse.analysis.store import AnalysisStore
from spanhouse.api.v1_compare import routes
from spanhouse.errors import InvalidInput
from spanhouse.model.batch import SpanBatch
from spanhouse.model.enums import SpanKind, StatusCode
from spanhouse.query.model import rfc3339
from spanhouse.store.pool import Pool
from tests.analysis.stores import loaded_databases
from tests.store.batches import add_set, add_span

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

MS = 1_000_000
S = 1_000 * MS
B = (time.time_ns() // 1_000_000_000 - 3 * 3600) * 1_000_000_000
WINDOW_A = (B - S, B + 200 * S)
B2 = B + 1800 * S
WINDOW_B = (B2 - S, B2 + 100 * S)
SLOW_SQL = "SELECT * FROM orders JOIN items USING (order_id) WHERE customer = ?"
FAST_SQL = ("SELECT * FROM users WHERE id = ?", "SELECT * FROM carts WHERE user = ?",
            "UPDATE carts SET total = ? WHERE id = ?")
B3 = B + 3600 * S
WINDOW_C = (B3 - S, B3 + 100 * S)
UUID_A, UUID_B = "6f1c2a52-7d1e-4c1a-9b55-0a4be2b1c001", "6f1c2a52-7d1e-4c1a-9b55-0a4be2b1c002"
FAST_MS = [50 + i for i in range(90)]
SLOW_MS = [1500 + 50 * j for j in range(10)]
SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT
ERROR = StatusCode.ERROR

_ids = itertools.count(1)


class _Builder:
    def __init__(self):
        self.batch = SpanBatch()
        self.scope = self.batch.add_scope("tests.analysis", "1.0")
        self.resources: dict[tuple, int] = {}
        self.weights: list[float] = []

    def resource(self, service: str, **attrs) -> int:
        key = (service, tuple(sorted(attrs.items())))
        if key not in self.resources:
            self.resources[key] = self.batch.add_resource(service)
            add_set(self.batch.resource_attributes, {"service.name": service, **attrs})
        return self.resources[key]

    def span(self, trace, span, parent, resource, name, kind, start, end, attributes=None,
             status=0, weight=1.0):
        add_span(self.batch, trace_id=trace, span_id=span, parent=parent, name=name, kind=kind,
                 start=start, end=end, resource=resource, scope=self.scope,
                 attributes=attributes, status=status)
        self.weights.append(weight)

    def done(self) -> SpanBatch:
        self.batch.adjusted_count = self.weights
        self.batch.sampling_policy = [""] * len(self.weights)
        return self.batch


def _ids_for(prefix: str) -> tuple[str, str, str]:
    n = next(_ids)
    trace = f"{prefix}{n:030x}"
    return trace, f"{n:014x}01", f"{n:014x}02"


def checkout_batch() -> SpanBatch:
    b = _Builder()
    gateway = b.resource("api-gateway", **{"service.version": "3.1"})
    for i, ms in enumerate(FAST_MS + SLOW_MS):
        slow = i >= len(FAST_MS)
        trace, root, child = _ids_for("ca")
        t0 = B + i * S
        tier = "free" if slow or i < 10 else "paid"
        attrs = {"user.tier": tier, "order.id": f"o-{i}", "cache.key": "hot" if slow else f"k-{i}"}
        b.span(trace, root, "", gateway, "GET /checkout", SERVER, t0, t0 + ms * MS, attrs)
        db = b.resource("orders-db", **{"service.version": "2.0" if slow else "1.9"})
        statement = SLOW_SQL if slow else FAST_SQL[i % 3]
        b.span(trace, child, root, db, "query", CLIENT, t0 + 5 * MS, t0 + (ms - 5) * MS,
               {"db.statement": statement})
    return b.done()


def payment_batch() -> SpanBatch:
    b = _Builder()
    gateway, payments = b.resource("api-gateway"), b.resource("payments")
    rows = ([("eu", True, 1.0)] * 3 + [("us", True, 1.0)] * 3 + [("eu", False, 1.0)] * 5
            + [("us", False, 20.0)] * 5)
    for i, (region, failed, weight) in enumerate(rows):
        trace, root, child = _ids_for("fa")
        t0 = B2 + i * S
        b.span(trace, root, "", gateway, "GET /pay", SERVER, t0, t0 + 100 * MS,
               {"cloud.region": region}, weight=weight)
        b.span(trace, child, root, payments, "charge", SERVER, t0 + 5 * MS, t0 + 90 * MS,
               status=ERROR if failed else 0, weight=1.0)
    return b.done()


def shop_batch() -> SpanBatch:
    b = _Builder()
    for i in range(20):
        failed = i < 8
        shop = b.resource("shop", **{"service.instance.id": UUID_A if failed else UUID_B})
        trace, root, _ = _ids_for("cc")
        t0 = B3 + i * S
        method = "PUT" if failed else "POST"
        add_span(b.batch, trace_id=trace, span_id=root, parent="", name="POST /pay", kind=SERVER,
                 start=t0, end=t0 + 50 * MS, resource=shop, scope=b.scope,
                 attributes={"http.method": method, "http.request.method": method},
                 status=ERROR if failed else 0, message="card declined" if failed else "",
                 events=[(t0 + MS, "exception", {"exception.type": "CardError",
                                                 "exception.message": f"card {i}"}, 0)]
                 if failed else [])
        b.weights.append(1.0)
    return b.done()


# ------------------------------------------------------------------------------ the store
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with loaded_databases(tmp_path_factory, "chdb-analysis",
                          {"compare": [checkout_batch(), payment_batch(), shop_batch()]}) as (factory, databases):
        yield AnalysisStore(Pool(factory, size=2), databases["compare"], "otel_traces")


def _by_pair(result: CompareResult) -> dict[tuple[str, str], AttributeDiff]:
    return {(a.key, a.value): a for a in result.attributes}


# ------------------------------------------------------------------------------ parse_where
@pytest.mark.parametrize("text, expected", [
    ("duration>p95", Selection("percentile", "duration>p95", percentile=95)),
    (" Duration > P99 ", Selection("percentile", "duration>p99", percentile=99)),
    ("duration>p50", Selection("percentile", "duration>p50", percentile=50)),
    ("duration>1.5s", Selection("duration", "duration>1.5s", threshold_ns=1_500_000_000)),
    ("duration>250ms", Selection("duration", "duration>250ms", threshold_ns=250 * MS)),
    ("error", Selection("error", "error")),
    ("ERROR", Selection("error", "error")),
])
def test_parse_where(text, expected):
    assert parse_where(text) == expected


@pytest.mark.parametrize("text", [
    "", "  ", "duration", "duration>", "duration>p96", "duration>p", "duration<1s",
    "duration>=1s", "duration>>1s", "latency>1s", "errors", "error=true", "status=error",
    "duration>1.5", "duration>-1s", "duration>1s AND error", "duration>p95; DROP TABLE x",
    "service=checkout", "x" * 200,
])
def test_parse_where_refuses_other_forms(text):
    with pytest.raises(InvalidInput) as info:
        parse_where(text)
    assert "where" in str(info.value)
    if "p96" not in text:
        assert "duration>p95" in str(info.value) and "error" in str(info.value)


def test_compare_refuses_bad_arguments(store):
    with pytest.raises(InvalidInput):
        compare(store, "duration>p42", *WINDOW_A)
    with pytest.raises(InvalidInput):
        compare(store, "error", WINDOW_A[1], WINDOW_A[0])
    with pytest.raises(InvalidInput):
        compare(store, "error", *WINDOW_A, limit=0)
    with pytest.raises(InvalidInput):
        compare(store, "error", *WINDOW_A, service="a\x00b")


# ------------------------------------------------------------------------------ compare
def test_slow_traces_share_a_statement_and_a_tier(store):
    result = compare(store, "duration>1s", *WINDOW_A)
    assert result.threshold_ns == 1_000 * MS
    assert (result.selected.traces, result.baseline.traces) == (10, 90)
    assert (result.selected.estimated, result.baseline.estimated) == (10.0, 90.0)
    assert not result.sampled
    top = [(a.key, a.value) for a in result.attributes]
    assert top[:3] == [("db.statement", SLOW_SQL), ("service.version", "orders-db@2.0"),
                       ("user.tier", "free")]
    statement, _, tier = result.attributes[:3]
    assert (statement.share_selection, statement.share_baseline, statement.lift) == (1.0, 0.0, None)
    assert (statement.traces_selection, statement.traces_baseline) == (10, 0)
    assert tier.share_selection == 1.0 and tier.share_baseline == pytest.approx(10 / 90)
    assert tier.lift == pytest.approx(9.0)
    assert (tier.count_selection, tier.count_baseline) == (10.0, pytest.approx(10.0))
    keys = {a.key for a in result.attributes}
    # ids (a value per trace) are skipped, even cache.key=hot which all slow traces share
    assert not keys & {"order.id", "cache.key"}
    # what both groups have is not a difference
    assert ("span.name", "orders-db: query") not in _by_pair(result)
    assert all(a.share_selection > a.share_baseline for a in result.attributes)


def test_percentile_selection(store):
    result = compare(store, parse_where("duration>p95"), *WINDOW_A)
    durations = FAST_MS + SLOW_MS
    assert result.threshold_ns in {ms * MS for ms in durations}
    above = [ms for ms in durations if ms * MS > result.threshold_ns]
    assert 1 <= len(above) <= 10 and min(above) >= 1500
    assert result.selected.traces == len(above)
    assert result.baseline.traces == 100 - len(above)
    assert result.attributes[0].key == "db.statement" and result.attributes[0].value == SLOW_SQL
    data = result.to_json()
    assert data["selection"]["where"] == "duration>p95"
    assert data["selection"]["threshold_ms"] == pytest.approx(result.threshold_ns / MS)
    assert data["selection"]["description"].startswith("traces slower than p95 (")


def test_sampling_weights_change_the_shares(store):
    result = compare(store, "error", *WINDOW_B)
    assert result.threshold_ns is None
    assert (result.selected.traces, result.baseline.traces) == (6, 10)
    # 5 ok us traces kept at 5% (root weight 20, child 1: the root's counts)
    assert (result.selected.estimated, result.baseline.estimated) == (6.0, 105.0)
    pairs = _by_pair(result)
    eu = pairs[("cloud.region", "eu")]
    assert result.attributes[0] is eu
    assert eu.share_selection == 0.5 and eu.share_baseline == pytest.approx(5 / 105)
    assert eu.count_selection == 3.0 and eu.count_baseline == pytest.approx(5.0)
    assert (eu.traces_selection, eu.traces_baseline) == (3, 5)
    assert eu.lift == pytest.approx(0.5 / (5 / 105))
    # 3 of 6 failures against 100 of 105 estimated ok traces: under-represented, left out
    assert ("cloud.region", "us") not in pairs


def test_narrowing_by_root_service_and_operation(store):
    same = compare(store, "duration>1s", *WINDOW_A, service="api-gateway", operation="GET /checkout")
    assert (same.selected.traces, same.baseline.traces) == (10, 90)
    assert same.attributes == compare(store, "duration>1s", *WINDOW_A).attributes
    none = compare(store, "duration>p95", *WINDOW_A, service="orders-db")  # never a root
    assert (none.selected.traces, none.baseline.traces, none.attributes) == (0, 0, ())
    other = compare(store, "error", *WINDOW_B, operation="GET /checkout")
    assert other.selected.traces == 0 and other.attributes == ()


def test_nothing_selected_or_no_baseline(store):
    nothing = compare(store, "error", *WINDOW_A)
    assert (nothing.selected.traces, nothing.baseline.traces) == (0, 100)
    assert nothing.attributes == ()
    everything = compare(store, "duration>10ms", *WINDOW_A)
    assert (everything.selected.traces, everything.baseline.traces) == (100, 0)
    assert everything.attributes == ()


def test_big_groups_are_sampled_deterministically(store):
    result = compare(store, "duration>1s", *WINDOW_A, max_traces=5)
    assert result.sampled
    assert (result.selected.traces, result.selected.considered) == (10, 5)
    assert (result.baseline.traces, result.baseline.considered) == (90, 5)
    # (in samples this small, cache.key has too few values to look like an id)
    first = _by_pair(result)[("db.statement", SLOW_SQL)]
    assert first.share_selection == 1.0 and first.difference == result.attributes[0].difference
    assert first.count_selection == 10.0          # the sample's share of the whole group
    assert result == compare(store, "duration>1s", *WINDOW_A, max_traces=5)
    assert result.to_json()["sampled"] is True
    assert not compare(store, "duration>1s", *WINDOW_A).sampled and MAX_TRACES == 20_000


def test_limit(store):
    result = compare(store, "duration>1s", *WINDOW_A, limit=1)
    assert [(a.key, a.value) for a in result.attributes] == [("db.statement", SLOW_SQL)]


def test_to_json_shape(store):
    data = compare(store, "duration>1s", *WINDOW_A, limit=3).to_json()
    assert set(data) == {"selection", "baseline", "start", "end", "service", "operation",
                         "sampled", "max_traces_per_group", "min_support", "attributes"}
    assert data["selection"] == {"where": "duration>1s", "description": "traces slower than 1s",
                                 "threshold_ms": 1000.0, "traces": 10, "estimated_traces": 10.0,
                                 "considered_traces": 10}
    assert data["baseline"] == {"traces": 90, "estimated_traces": 90.0, "considered_traces": 90}
    assert data["attributes"][0] == {
        "key": "db.statement", "value": SLOW_SQL, "share_selection": 1.0, "share_baseline": 0.0,
        "difference": 1.0, "lift": None, "count_selection": 10.0, "count_baseline": 0.0,
        "traces_selection": 10, "traces_baseline": 0, "kind": "attribute", "signal": "high",
        "merged_keys": ["db.statement"]}
    assert data["start"] == rfc3339(WINDOW_A[0]) and data["min_support"] == 3


def test_signal_before_noise(store):
    result = compare(store, "error", *WINDOW_C)
    rows = [(a.key, a.value, a.signal, a.merged_keys, a.kind) for a in result.attributes]
    # all five values hold the 8 failing traces and no other: status message and exception
    # type are rows of their own, the two method keys one row, the instance id last
    assert rows == [
        ("exception.type", "CardError", "high", ("exception.type",), "exception.type"),
        ("http.method", "PUT", "high", ("http.method", "http.request.method"), "attribute"),
        ("status.message", "card declined", "high", ("status.message",), "status_message"),
        ("service.instance.id", UUID_A, "low", ("service.instance.id",), "attribute"),
    ]
    assert all(a.share_selection == 1.0 and a.share_baseline == 0.0 and a.traces_selection == 8
               for a in result.attributes)


def test_identifiers():
    from spanhouse.analysis.compare import is_identifier
    assert is_identifier("service.instance.id", "a") and is_identifier("order.id", "17")
    assert is_identifier("x", UUID_A) and is_identifier("x", "1234567")
    assert is_identifier("x", "4bf92f3577b34da6a3ce929d0e0e4736")
    assert not is_identifier("db.statement", SLOW_SQL) and not is_identifier("x", "12345")


# ------------------------------------------------------------------------------ the API, end to end
def test_api_over_the_real_store(store):
    now = dt.datetime.now().astimezone()
    client = TestClient(Starlette(routes=routes(store, clock=lambda: now)))
    r = client.get("/api/v1/compare", params={"where": "error", "start": rfc3339(WINDOW_B[0]),
                                              "end": rfc3339(WINDOW_B[1])})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["attributes"][0]["key"] == "cloud.region"
    assert body["data"]["baseline"]["estimated_traces"] == 105.0
    assert body["query"]["where"] == "error" and body["query"]["limit"] == 10
    bad = client.get("/api/v1/compare", params={"where": "duration>fast"})
    assert bad.status_code == 400 and "duration>p95" in bad.json()["error"]["message"]
