"""``spanhouse.analysis.doctor`` against a real chDB store with hand-built data sets.

Three databases (times in ms after ``B``; every entry span carries ``user.id`` unless said):

``clean``       20 well-instrumented checkout traces (gateway -> checkout -> payment -> db,
                checkout -> queue -> worker as a child, a batch consumer linking to the
                producer), kept at 5% (AdjustedCount 20) plus one error trace kept by an
                "errors" policy at weight 1: no finding.
``problems``    one service per mistake:
                - api-gateway CLIENT "POST /pay" (peer.service=payment) has no child; payment
                  SERVER roots start inside it, in traces of their own (12 times);
                - web CLIENT "call" names nobody, has no child; billing SERVER roots start
                  inside it (5 times);
                - inventory SERVER spans whose parent never arrives (3 traces);
                - orders-api PRODUCER to "orders" with no consumer child, and billing-worker
                  CONSUMER roots on "orders" without links (4 times);
                - legacy: 12 SERVER roots without user.id / order.id / tenant.id;
                - stock SERVER spans starting 200 ms before their cart CLIENT parent;
                - timer: zero-duration roots, and one lasting two days;
                - users: span names "GET /users/<n>" (12 distinct ids);
                - batch: a trace of 60 spans (the test lowers huge_trace_spans to 50);
                - pay-sampled: an error trace kept at 5% (AdjustedCount 20).
``unsampled``   3,000 spans in 10 s, AdjustedCount 1 everywhere (100%): over-sampling.
``weighted``    tail-sampled mistakes, each span kept with a weight (AdjustedCount 20, 5, 4 or
                1; every span of a trace the same): timer's zero and two-day spans
                (bad_duration), legacy's entry spans without business keys
                (no_business_context), inventory's orphans (context_not_propagated), cart ->
                stock clock skew. ``Weighted`` records the weight of every offending span or
                trace: the findings' estimated_count is their sum, count their number.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from spanhouse.analysis.doctor import (
    DoctorOptions, DoctorReport, Finding, Thresholds, run_doctor,
)
from spanhouse.analysis.store import AnalysisStore
from spanhouse.api.v1_doctor import routes
from spanhouse.errors import InvalidInput
from spanhouse.model.batch import SpanBatch
from spanhouse.model.enums import SpanKind, StatusCode
from spanhouse.store.pool import Pool
from spanhouse.query.model import rfc3339
from tests.analysis.stores import loaded_databases
from tests.store.batches import add_set, add_span

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MS = 1_000_000
S = 1_000 * MS
B = (time.time_ns() // S - 3 * 3600) * S
WINDOW = (B - S, B + 200 * S)
UNSAMPLED_WINDOW = (B, B + 10 * S)
INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = (SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT,
                                              SpanKind.PRODUCER, SpanKind.CONSUMER)
ERROR = StatusCode.ERROR
USER = {"user.id": "u-1"}

_trace_ids = itertools.count(1)


def new_trace(prefix: str) -> str:
    return f"{prefix}{next(_trace_ids):0{32 - len(prefix)}x}"


class Data:
    """Spans of one data set; span ids are the trace id's tail plus a counter."""

    def __init__(self):
        self.batch = SpanBatch()
        self.scope = self.batch.add_scope("tests.doctor", "1.0")
        self.resources: dict[str, int] = {}
        self.weights: list[float] = []
        self.policies: list[str] = []
        self._n = itertools.count(1)

    def resource(self, service: str) -> int:
        if service not in self.resources:
            self.resources[service] = self.batch.add_resource(service)
            add_set(self.batch.resource_attributes, {"service.name": service})
        return self.resources[service]

    def span(self, trace: str, parent: str, service: str, name: str, kind: int, start_ms: float,
             end_ms: float, attributes: dict | None = None, status: int = 0,
             links: list[dict] = (), weight: float = 1.0, policy: str = "") -> str:
        span_id = f"{next(self._n):016x}"
        add_span(self.batch, trace_id=trace, span_id=span_id, parent=parent, name=name,
                 kind=kind, start=B + int(start_ms * MS), end=B + int(end_ms * MS),
                 resource=self.resource(service), scope=self.scope, attributes=attributes,
                 status=status, links=list(links))
        self.weights.append(weight)
        self.policies.append(policy)
        return span_id

    def done(self) -> SpanBatch:
        self.batch.adjusted_count, self.batch.sampling_policy = self.weights, self.policies
        return self.batch


# ------------------------------------------------------------------------------ data sets
def clean_batch() -> SpanBatch:
    d = Data()
    for i in range(20):
        t0 = i * 1000
        w, pol = 20.0, "probabilistic"
        trace = new_trace("c1")
        root = d.span(trace, "", "api-gateway", "GET /checkout", SERVER, t0, t0 + 300,
                      {**USER, "http.route": "/checkout"}, weight=w, policy=pol)
        call = d.span(trace, root, "api-gateway", "POST /checkout", CLIENT, t0 + 10, t0 + 280,
                      {"peer.service": "checkout"}, weight=w, policy=pol)
        entry = d.span(trace, call, "checkout", "POST /checkout", SERVER, t0 + 12, t0 + 270,
                       {**USER, "order.id": f"o-{i}"}, weight=w, policy=pol)
        pay = d.span(trace, entry, "checkout", "POST /charge", CLIENT, t0 + 20, t0 + 200,
                     {"server.address": "payment.internal", "http.url": "http://payment/charge"},
                     weight=w, policy=pol)
        charge = d.span(trace, pay, "payment", "POST /charge", SERVER, t0 + 22, t0 + 190,
                        {"order.id": f"o-{i}"}, weight=w, policy=pol)
        d.span(trace, charge, "payment", "SELECT cards", CLIENT, t0 + 30, t0 + 60,
               {"db.system": "postgresql", "server.address": "postgres"}, weight=w, policy=pol)
        d.span(trace, charge, "payment", "sign", INTERNAL, t0 + 60, t0 + 70, weight=w, policy=pol)
        publish = d.span(trace, entry, "checkout", "orders publish", PRODUCER, t0 + 210,
                         t0 + 215, {"messaging.destination.name": "orders"}, weight=w, policy=pol)
        d.span(trace, publish, "worker", "orders process", CONSUMER, t0 + 400, t0 + 450,
               {**USER, "messaging.destination.name": "orders"}, weight=w, policy=pol)
        # a batch consumer: a root of its own trace, linked to the producer span
        batch_trace = new_trace("c2")
        d.span(batch_trace, "", "reporting", "orders receive", CONSUMER, t0 + 500, t0 + 520,
               {"tenant.id": "t-1", "messaging.destination.name": "orders"},
               links=[{"trace_id": trace, "span_id": publish}], weight=w, policy=pol)
    # an error trace, kept whole by the errors policy (weight 1)
    trace = new_trace("c3")
    root = d.span(trace, "", "api-gateway", "GET /checkout", SERVER, 25_000, 25_300,
                  {**USER, "http.route": "/checkout"}, status=ERROR, policy="errors")
    call = d.span(trace, root, "api-gateway", "POST /checkout", CLIENT, 25_010, 25_280,
                  {"peer.service": "checkout"}, status=ERROR, policy="errors")
    d.span(trace, call, "checkout", "POST /checkout", SERVER, 25_012, 25_270,
           {**USER, "order.id": "o-x"}, status=ERROR, policy="errors")
    return d.done()


class Problems:
    """Trace ids of the problem data set, by scenario."""

    named_callers: list[str] = []
    named_callees: list[str] = []
    timing_callers: list[str] = []
    timing_callees: list[str] = []
    orphans: list[str] = []
    producers: list[str] = []
    consumer_roots: list[str] = []
    legacy: list[str] = []
    skewed: list[str] = []
    timer: list[str] = []
    users: list[str] = []
    huge: str = ""
    sampled_error: str = ""


def problems_batch() -> SpanBatch:
    d = Data()
    p = Problems
    for i in range(12):                                  # named broken edge
        t0 = i * 1000
        trace = new_trace("a1")
        root = d.span(trace, "", "api-gateway", "GET /checkout", SERVER, t0, t0 + 300, USER)
        d.span(trace, root, "api-gateway", "POST /pay", CLIENT, t0 + 10, t0 + 200,
               {"peer.service": "payment"})
        callee = new_trace("b1")
        d.span(callee, "", "payment", "POST /pay", SERVER, t0 + 20, t0 + 180, USER)
        p.named_callers.append(trace)
        p.named_callees.append(callee)
    for i in range(5):                                   # unnamed broken edge
        t0 = 20_000 + i * 1000
        trace = new_trace("a2")
        root = d.span(trace, "", "web", "GET /", SERVER, t0, t0 + 100, USER)
        d.span(trace, root, "web", "call", CLIENT, t0 + 10, t0 + 90)
        callee = new_trace("b2")
        d.span(callee, "", "billing", "POST /bill", SERVER, t0 + 15, t0 + 80, USER)
        p.timing_callers.append(trace)
        p.timing_callees.append(callee)
    for i in range(3):                                   # parent never arrives
        t0 = 30_000 + i * 1000
        trace = new_trace("a3")
        d.span(trace, "deadbeefdeadbeef", "inventory", "reserve", SERVER, t0, t0 + 50, USER)
        p.orphans.append(trace)
    for i in range(4):                                   # queue hop without context
        t0 = 35_000 + i * 1000
        trace = new_trace("a4")
        root = d.span(trace, "", "orders-api", "POST /orders", SERVER, t0, t0 + 100, USER)
        d.span(trace, root, "orders-api", "orders publish", PRODUCER, t0 + 10, t0 + 20,
               {"messaging.destination.name": "orders"})
        consumer = new_trace("b4")
        d.span(consumer, "", "billing-worker", "orders process", CONSUMER, t0 + 300, t0 + 350,
               {**USER, "messaging.destination.name": "orders"})
        p.producers.append(trace)
        p.consumer_roots.append(consumer)
    for i in range(12):                                  # no business context
        t0 = 50_000 + i * 1000
        trace = new_trace("a5")
        d.span(trace, "", "legacy", "GET /report", SERVER, t0, t0 + 40, {"http.route": "/report"})
        p.legacy.append(trace)
    for i in range(3):                                   # clock skew
        t0 = 70_000 + i * 1000
        trace = new_trace("a6")
        root = d.span(trace, "", "cart", "GET /cart", SERVER, t0, t0 + 500, USER)
        call = d.span(trace, root, "cart", "GET /stock", CLIENT, t0 + 300, t0 + 400,
                      {"peer.service": "stock"})
        d.span(trace, call, "stock", "GET /stock", SERVER, t0 + 100, t0 + 180, USER)
        p.skewed.append(trace)
    for i in range(3):                                   # bad durations
        t0 = 80_000 + i * 1000
        trace = new_trace("a7")
        d.span(trace, "", "timer", "tick", SERVER, t0, t0 + (2 * 86_400_000 if i == 0 else 0),
               USER)
        p.timer.append(trace)
    for i in range(12):                                  # ids in span names
        t0 = 90_000 + i * 1000
        trace = new_trace("a8")
        d.span(trace, "", "users", f"GET /users/{1000 + i}", SERVER, t0, t0 + 20, USER)
        p.users.append(trace)
    trace = new_trace("a9")                              # a huge trace (threshold 50)
    root = d.span(trace, "", "batch", "nightly", SERVER, 110_000, 112_000, USER)
    for i in range(59):
        d.span(trace, root, "batch", "item", INTERNAL, 110_000 + i * 10, 110_000 + i * 10 + 5)
    p.huge = trace
    trace = new_trace("aa")                              # an error trace sampled at 5%
    d.span(trace, "", "pay-sampled", "POST /pay", SERVER, 120_000, 120_100, USER, status=ERROR,
           weight=20.0, policy="probabilistic")
    p.sampled_error = trace
    return d.done()


class Weighted:
    """Weights of the weighted data set's offending spans (or traces), per check."""

    bad: list[float] = []                 # timer: spans lasting 0 ns or two days
    unkeyed: list[float] = []             # legacy: entry spans without a business key
    orphans: list[float] = []             # inventory: traces whose parent never arrives
    skewed: list[float] = []              # stock: server spans outside their cart client


def weighted_batch() -> SpanBatch:
    d = Data()
    w, pol = Weighted, "probabilistic"
    for i, weight in enumerate([20.0, 20.0, 5.0, 1.0, 20.0]):    # bad durations
        t0 = i * 1000
        end = t0 + (2 * 86_400_000 if i == 4 else 0)              # the last lasts two days
        d.span(new_trace("e1"), "", "timer", "tick", SERVER, t0, end, USER, weight=weight,
               policy=pol)
        w.bad.append(weight)
    for i in range(12):                                           # no business context
        weight = 1.0 if i % 4 == 0 else 20.0
        t0 = 10_000 + i * 1000
        d.span(new_trace("e2"), "", "legacy", "GET /report", SERVER, t0, t0 + 40,
               {"http.route": "/report"}, weight=weight, policy=pol)
        w.unkeyed.append(weight)
    for i, weight in enumerate([20.0, 20.0, 4.0]):                # parents never arrive
        t0 = 30_000 + i * 1000
        d.span(new_trace("e3"), "deadbeefdeadbeef", "inventory", "reserve", SERVER, t0,
               t0 + 50, USER, weight=weight, policy=pol)
        w.orphans.append(weight)
    for i, weight in enumerate([20.0, 5.0, 20.0]):                # clock skew
        t0 = 40_000 + i * 1000
        trace = new_trace("e4")
        root = d.span(trace, "", "cart", "GET /cart", SERVER, t0, t0 + 500, USER,
                      weight=weight, policy=pol)
        call = d.span(trace, root, "cart", "GET /stock", CLIENT, t0 + 300, t0 + 400,
                      {"peer.service": "stock"}, weight=weight, policy=pol)
        d.span(trace, call, "stock", "GET /stock", SERVER, t0 + 100, t0 + 180, USER,
               weight=weight, policy=pol)
        w.skewed.append(weight)
    return d.done()


def unsampled_batch() -> SpanBatch:
    d = Data()
    for i in range(300):
        t0 = i * 30
        trace = new_trace("d1")
        root = d.span(trace, "", "shop", "GET /home", SERVER, t0, t0 + 20, USER)
        for j in range(9):
            d.span(trace, root, "shop", "render", INTERNAL, t0 + 1 + j, t0 + 2 + j)
    return d.done()


# ------------------------------------------------------------------------------ the store
@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Per data set, its store with Spanhouse's additions and (``NAME/spans``) the same
    database read through the traces table alone."""
    batches = {"clean": [clean_batch()], "problems": [problems_batch()],
               "unsampled": [unsampled_batch()], "weighted": [weighted_batch()]}
    with loaded_databases(tmp_path_factory, "chdb-doctor", batches) as (factory, databases):
        out = {}
        for name, database in databases.items():
            out[name] = AnalysisStore(Pool(factory, size=2), database, "otel_traces")
            out[name + "/spans"] = AnalysisStore(Pool(factory, size=2), database, "otel_traces",
                                                 use_additions=False)
        yield out


@pytest.fixture(scope="module")
def problems(stores) -> DoctorReport:
    return run_doctor(stores["problems"], *WINDOW,
                      DoctorOptions(thresholds=Thresholds(huge_trace_spans=50)))


def _finding(report: DoctorReport, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [f.code for f in report.findings]
    return found[0]


# ------------------------------------------------------------------------------ tests
def test_clean_data_set_has_no_findings(stores):
    report = run_doctor(stores["clean"], *WINDOW)
    assert report.findings == (), [f.to_json() for f in report.findings]
    sampling = report.sampling
    assert sampling.spans == 20 * 10 + 3
    assert sampling.estimated_spans == 20 * 10 * 20 + 3
    assert {p.policy: p.rate for p in sampling.policies} == {"probabilistic": 0.05, "errors": 1.0}
    assert report.to_json()["findings"] == []


def test_context_not_propagated(problems):
    f = _finding(problems, "context_not_propagated")
    assert f.severity == "high"
    assert "api-gateway → payment" in f.services
    assert "web → billing" in f.services
    assert "inventory" in f.services
    assert f.count == 12 + 5 + 3
    assert f.examples and len(f.examples) <= 5
    known = set(Problems.named_callers + Problems.named_callees + Problems.timing_callers
                + Problems.timing_callees + Problems.orphans)
    assert set(f.examples) <= known
    details = dict(f.details)
    edges = {(e["caller"], e["callee"]): e for e in details["broken_calls"]}
    named = edges[("api-gateway", "payment")]
    assert (named["evidence"], named["broken_calls"], named["calls"]) == ("attributes", 12, 12)
    assert set(named["examples"]) <= set(Problems.named_callers) and named["examples"]
    timing = edges[("web", "billing")]
    assert (timing["evidence"], timing["broken_calls"]) == ("timing", 5)
    assert set(timing["callee_examples"]) <= set(Problems.timing_callees)
    assert ("cart", "stock") not in edges          # skewed, but connected
    fragments = details["fragments"]
    assert [(x["problem"], x["service"], x["traces"]) for x in fragments] == [
        ("orphan", "inventory", 3)]
    assert set(fragments[0]["examples"]) == set(Problems.orphans)
    assert "propagate" in f.fix and "api-gateway" in f.fix


def test_async_hop_unlinked(problems):
    f = _finding(problems, "async_hop_unlinked")
    assert "orders-api → billing-worker" in f.services
    assert f.count == 8
    assert set(f.examples) <= set(Problems.producers + Problems.consumer_roots)
    assert set(f.examples) & set(Problems.producers)
    assert set(f.examples) & set(Problems.consumer_roots)
    assert "headers" in f.fix


def test_no_business_context(problems):
    f = _finding(problems, "no_business_context")
    assert f.services == ("legacy",)
    assert f.count == 12
    assert set(f.examples) <= set(Problems.legacy) and len(f.examples) == 5
    assert "user.id" in f.fix and "legacy" in f.fix
    assert problems.business_keys[:3] == ("user.id", "order.id", "tenant.id")


def test_business_keys_are_configurable_and_learned(stores):
    # only "account.id" configured: every service lacks it except none -> all flagged
    report = run_doctor(stores["problems"], *WINDOW,
                        DoctorOptions(business_keys=("account.id",), learn_business_keys=False,
                                      thresholds=Thresholds(business_min_entry_spans=1)))
    f = _finding(report, "no_business_context")
    assert {"legacy", "api-gateway", "payment", "users"} <= set(f.services)
    # learned: user.id is on other services' entry spans, so only legacy lacks it
    report = run_doctor(stores["problems"], *WINDOW,
                        DoctorOptions(business_keys=("account.id",)))
    assert "user.id" in report.business_keys
    assert _finding(report, "no_business_context").services == ("legacy",)


def test_sampling_findings(problems):
    f = _finding(problems, "errors_sampled_away")
    assert f.services == ("pay-sampled",) and f.examples == (Problems.sampled_error,)
    assert f.count == 1 and "status_code" in f.fix
    assert not [x for x in problems.findings if x.code == "over_sampling"]  # low volume


def test_over_sampling(stores):
    report = run_doctor(stores["unsampled"], *UNSAMPLED_WINDOW)
    assert [f.code for f in report.findings] == ["over_sampling"]
    f = report.findings[0]
    assert f.count == 3000 and "1-5%" in f.fix
    s = report.sampling
    # rates per second of the time the data covers: first span at 0 ms, last at
    # 299 * 30 + 1 + 8 ms (the last trace's last render span), not the 10 s window
    covered_s = (299 * 30 + 1 + 8) / 1000
    assert (s.covered_start_ns, s.covered_end_ns) == (B, B + int(covered_s * 1000) * MS)
    assert s.rate == 1.0 and s.spans_per_second == pytest.approx(3000 / covered_s)
    assert s.bytes_per_span and s.bytes_per_span > 0
    assert s.bytes_per_day == pytest.approx(3000 / covered_s * 86_400 * s.bytes_per_span)
    assert s.to_json()["covered"]["seconds"] == pytest.approx(covered_s)
    assert dict(f.details)["sampling"]["spans"] == 3000


def test_clock_skew(problems):
    f = _finding(problems, "clock_skew")
    assert f.services == ("cart → stock",)
    assert set(f.examples) == set(Problems.skewed) and f.count == 3
    pair = dict(f.details)["pairs"][0]
    assert pair["max_offset_ms"] == pytest.approx(200.0)   # starts 200 ms before its client
    assert "NTP" in f.fix


def test_bad_duration(problems):
    f = _finding(problems, "bad_duration")
    assert f.services == ("timer",) and f.count == 3
    assert set(f.examples) == set(Problems.timer)


def test_high_cardinality_span_names(problems):
    f = _finding(problems, "high_cardinality_span_names")
    assert f.services == ("users",)
    detail = dict(f.details)["by_service"][0]
    assert detail["id_like_names"] == 12 and len(detail["example_names"]) == 5
    assert set(f.examples) <= set(Problems.users)
    assert "http.route" in f.fix


def test_huge_traces(problems):
    f = _finding(problems, "huge_traces")
    assert f.services == ("batch",) and f.examples == (Problems.huge,) and f.count == 1
    assert dict(f.details)["by_service"][0]["max_spans"] == 60


def _quoted(estimate: float, stored: int, unit: str) -> str:
    return f"est. {estimate:,.0f} {unit} ({stored:,} stored)"


@pytest.mark.parametrize("name", ["weighted", "weighted/spans"])
def test_finding_counts_are_estimates_with_stored_counts_second(stores, name):
    """Under tail sampling each stored span stands for AdjustedCount spans: every finding's
    estimated_count is the sum of its offending spans' (traces') weights, count their stored
    number; the fix quotes the estimate first. With the span stats, and from the spans alone."""
    report = run_doctor(stores[name], *WINDOW)
    expected = {"bad_duration": (Weighted.bad, "spans"),
                "no_business_context": (Weighted.unkeyed, "entry spans"),
                "context_not_propagated": (Weighted.orphans, "traces"),
                "clock_skew": (Weighted.skewed, "calls")}
    assert expected.keys() <= {f.code for f in report.findings}
    for code, (weights, unit) in expected.items():
        f = _finding(report, code)
        assert (f.count, f.estimated_count) == (len(weights), sum(weights)), code
        assert f.estimated_count != f.count                 # the weights matter here
        assert f.to_json()["estimated_count"] == sum(weights)
        assert f.to_json()["count"] == len(weights)
        assert _quoted(sum(weights), len(weights), unit) in f.fix, (code, f.fix)
    by_service = dict(_finding(report, "no_business_context").details)["by_service"]
    assert [(b["service"], b["missing"], b["missing_estimated"]) for b in by_service] == [
        ("legacy", len(Weighted.unkeyed), sum(Weighted.unkeyed))]
    fragments = dict(_finding(report, "context_not_propagated").details)["fragments"]
    assert [(x["service"], x["traces"], x["estimated_traces"]) for x in fragments] == [
        ("inventory", len(Weighted.orphans), sum(Weighted.orphans))]


def test_unweighted_findings_estimate_their_stored_count(problems):
    """At weight 1 the estimate is the stored count; distinct span names are no sampled unit
    (their estimate is their count); the one error trace kept at 5% stands for 20."""
    for f in problems.findings:
        if f.code == "errors_sampled_away":
            assert (f.count, f.estimated_count) == (1, 20.0)
            assert _quoted(20, 1, "traces") in f.fix
        else:
            assert f.estimated_count == f.count, f.code
    f = _finding(problems, "high_cardinality_span_names")
    assert f.estimated_count == f.count == 12


def test_findings_are_ordered_and_json(problems):
    order = ["high", "medium", "low"]
    levels = [order.index(f.severity) for f in problems.findings]
    assert levels == sorted(levels)
    body = problems.to_json()
    assert set(body) == {"start", "end", "checked_window", "findings", "sampling",
                         "business_keys", "elapsed_ms"}
    for f in body["findings"]:
        assert set(f) == {"code", "title", "severity", "count", "estimated_count", "services",
                          "examples", "fix", "details"}
        assert isinstance(f["details"], dict)


def test_default_huge_threshold_and_settle(stores):
    report = run_doctor(stores["problems"], *WINDOW)
    assert "huge_traces" not in {f.code for f in report.findings}
    # "now" at the window's start: every span is too recent to accuse of missing relatives
    settled = run_doctor(stores["problems"], *WINDOW, DoctorOptions(now_ns=WINDOW[0]))
    codes = {f.code for f in settled.findings}
    # the report says which span of time was checked: nothing of this window yet
    checked = settled.to_json()["checked_window"]
    assert checked["start"] == checked["end"] == rfc3339(WINDOW[0])
    assert "not checked" in checked["note"]
    # "now" long after the window: all of it checked, no note
    assert report.to_json()["checked_window"] == {
        "start": rfc3339(WINDOW[0]), "end": rfc3339(WINDOW[1]), "note": ""}
    minute = 60 * S
    options = DoctorOptions(now_ns=WINDOW[1], settle_ns=2 * minute)
    recent = run_doctor(stores["problems"], *WINDOW, options).to_json()["checked_window"]
    assert recent["end"] == rfc3339(max(WINDOW[1] - 2 * minute, WINDOW[0]))
    assert "context_not_propagated" not in codes
    assert "async_hop_unlinked" in codes          # consumer roots are not about timing


def test_big_windows_check_relations_on_a_slice(stores, problems):
    # no sample on a window under the limit: the findings say nothing of one
    assert all("sample" not in dict(f.details) for f in problems.findings)
    huge = Thresholds(huge_trace_spans=50)
    sliced = run_doctor(stores["problems"], *WINDOW,
                        DoctorOptions(thresholds=huge, max_checked_spans=10))
    spans = sliced.sampling.spans
    assert spans == problems.sampling.spans > 10            # the sampling figures stay whole
    for f in sliced.findings:
        sample = dict(f.details).get("sample")
        if f.code in ("context_not_propagated", "async_hop_unlinked", "clock_skew",
                      "huge_traces"):
            assert sample["window_spans"] == spans and sample["max_checked_spans"] == 10
            assert sample["lookup_margin_ms"] <= (WINDOW[1] - WINDOW[0]) / 1e6
        else:                                              # whole-window checks: unchanged
            assert sample is None
            same = _finding(problems, f.code)
            assert (f.count, f.services, set(f.examples)) == (
                same.count, same.services, set(same.examples))
    # 0: no limit, the same report as the default
    whole = run_doctor(stores["problems"], *WINDOW,
                       DoctorOptions(thresholds=huge, max_checked_spans=0))
    assert ([(f.code, f.count, f.services) for f in whole.findings]
            == [(f.code, f.count, f.services) for f in problems.findings])
    with pytest.raises(InvalidInput):
        run_doctor(stores["clean"], *WINDOW, DoctorOptions(max_checked_spans=-1))


def test_bad_arguments(stores):
    with pytest.raises(InvalidInput):
        run_doctor(stores["clean"], WINDOW[1], WINDOW[0])
    with pytest.raises(InvalidInput):
        run_doctor(stores["clean"], *WINDOW, DoctorOptions(business_keys=("user id",)))
    with pytest.raises(InvalidInput):
        run_doctor(stores["clean"], *WINDOW, DoctorOptions(business_keys="user.id"))


def test_hostile_keys_are_bound(stores):
    key = "x')) OR 1=1 --"
    with pytest.raises(InvalidInput):
        run_doctor(stores["clean"], *WINDOW, DoctorOptions(business_keys=(key,)))
    report = run_doctor(stores["clean"], *WINDOW,
                        DoctorOptions(business_keys=("a{p:String}",)))
    assert "a{p:String}" in report.business_keys


def _comparable(report: DoctorReport) -> dict:
    out = report.to_json()
    out.pop("elapsed_ms")
    out["sampling"].pop("bytes_per_span")      # the additions' tables are not in the size
    out["sampling"].pop("bytes_per_day")
    for finding in out["findings"]:
        finding["details"].pop("sampling", None)
    return out


@pytest.mark.parametrize("name", ["clean", "problems", "unsampled", "weighted"])
@pytest.mark.parametrize("cut_s", [0, 7, 59])
def test_span_stats_and_spans_agree(stores, name, cut_s):
    """With the span stats (whole minutes) and the spans of the partial minutes, or with the
    spans alone (an exporter-created table), the doctor reports the same; windows cut minutes
    anywhere (cut_s: where the window starts within a minute)."""
    options = DoctorOptions(thresholds=Thresholds(huge_trace_spans=50))
    start = (B // (60 * S) - 1) * 60 * S + cut_s * S
    window = (start, start + 5 * 60 * S + 13 * S)
    with_stats = run_doctor(stores[name], *window, options)
    spans_only = run_doctor(stores[name + "/spans"], *window, options)
    assert _comparable(with_stats) == _comparable(spans_only)
    assert with_stats.sampling.spans > 0


@pytest.mark.parametrize("options", [
    DoctorOptions(thresholds=Thresholds(max_span_duration_ns=60 * S)),   # not the stats' day
    DoctorOptions(business_keys=("user.id", "account")),                 # not only ".id" keys
], ids=["duration-limit", "business-key"])
def test_options_the_span_stats_cannot_answer_read_the_spans(stores, options):
    start = (B // (60 * S) - 1) * 60 * S
    window = (start, start + 5 * 60 * S)
    assert _comparable(run_doctor(stores["problems"], *window, options)) == _comparable(
        run_doctor(stores["problems/spans"], *window, options))


def test_span_stats_cover_whole_minutes_only(stores):
    """A window inside one minute has no whole minute: every count comes from the spans."""
    report = run_doctor(stores["unsampled"], *UNSAMPLED_WINDOW)
    assert report.sampling.spans == 3000


def test_api_over_the_store(stores):
    now = dt.datetime.fromtimestamp(WINDOW[1] / 1e9, dt.timezone.utc)
    app = Starlette(routes=routes(stores["problems"], clock=lambda: now))
    client = TestClient(app)
    r = client.get("/api/v1/doctor", params={"since": "210s"})
    assert r.status_code == 200, r.text
    body = r.json()
    codes = {f["code"] for f in body["data"]["findings"]}
    assert {"context_not_propagated", "async_hop_unlinked", "no_business_context"} <= codes
    assert body["query"]["since"] == "210s" and body["query"]["key"] == [
        "user.id", "order.id", "tenant.id"]
    clean = TestClient(Starlette(routes=routes(stores["clean"], clock=lambda: now)))
    r = clean.get("/api/v1/doctor", params={"since": "210s", "key": "user.id"})
    assert r.status_code == 200 and r.json()["data"]["findings"] == []
