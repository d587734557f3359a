"""QueryService over a real chDB store holding tests/query/dataset.py: exact answers for every
QueryAPI method, hostile input, and a table created by the collector exporter's own DDL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spanhouse.errors import InvalidInput
from spanhouse.model.span import records_from_batch
from spanhouse.query.errors_by_service import MAX_BUCKETS, origin_first, step_ns
from spanhouse.query.model import (
    MAX_LIMIT, AttributeFilter, Dependency, Operation, QueryAPI, SearchQuery, ServiceErrors,
    TopOperation,
)
from spanhouse.query.service import QueryService
from spanhouse.store.pool import Pool
from spanhouse.store.writer import TraceWriter

from tests.query import dataset as d
from tests.query.dataset import (
    ALL, DROP, ERR1, ERR2, FRAG, HOSTILE, MS, OK, SAMPLED, SLOW, U1, U2, U3, WINDOW,
)
from tests.store.exporter_ddl import EXPORTER_INSERT_COLUMNS, VARIANTS, create_exporter_tables

S = 1000 * MS


def ids(summaries) -> list[str]:
    return [s.trace_id for s in summaries]


def q(**kw) -> SearchQuery:
    return SearchQuery(WINDOW[0], WINDOW[1], **kw)


def test_implements_the_protocol(svc):
    for name in ("get_trace", "services", "operations", "search", "find_traces", "slowest",
                 "errors_by_service", "find_by_attribute", "dependencies"):
        assert callable(getattr(svc, name)) and hasattr(QueryAPI, name)


# ------------------------------------------------------------------------------ traces
def test_get_trace_returns_the_spans_by_start_time(svc):
    expected = sorted((r for b in d.batches() for r in records_from_batch(b) if r.trace_id == ERR1),
                      key=lambda r: (r.start_ns, r.span_id))
    spans = svc.get_trace(ERR1.upper())
    assert spans == expected
    assert [s.name for s in spans] == ["GET /checkout", "POST /checkout", "charge", "SELECT cards"]
    assert svc.get_trace("00000000000000000000000000000001") == []


def test_sampled_spans_keep_their_adjusted_count(svc):
    assert {s.adjusted_count for s in svc.get_trace(SAMPLED)} == {20.0}
    assert {s.sampling_policy for s in svc.get_trace(SAMPLED)} == {"probabilistic"}


@pytest.mark.parametrize("bad", ["", "xyz", "e1000000000000000000000000000001'--",
                                 "' OR 1=1 --", "g" * 32, 42, None])
def test_bad_trace_id_is_invalid_input(svc, bad):
    with pytest.raises(InvalidInput):
        svc.get_trace(bad)


# ------------------------------------------------------------------------------ catalog
def test_services(svc):
    assert svc.services() == ["api-gateway", "checkout", "inventory", "payment", "user-svc"]


def test_operations(svc):
    assert svc.operations("payment") == [Operation("SELECT cards", "client"),
                                         Operation("charge", "server")]
    assert svc.operations("payment", "server") == [Operation("charge", "server")]
    assert svc.operations(span_kind="client") == [Operation("SELECT cards", "client"),
                                                  Operation("SELECT stock", "client")]
    assert [o.name for o in svc.operations()] == [
        "GET /checkout", "GET /profile", "GET /search", "GET /slow", "POST /checkout",
        "SELECT cards", "SELECT stock", "charge", "load profile", "reserve"]
    assert svc.operations("nope") == []
    with pytest.raises(InvalidInput):
        svc.operations("payment", "SERVER'; --")


def _stored(edges) -> list[Dependency]:
    return [Dependency(e.parent, e.child, e.call_count, e.error_count) for e in edges]


def test_dependencies(svc):
    found = svc.dependencies(*WINDOW)
    assert _stored(found) == [
        Dependency("api-gateway", "checkout", 5, 3),
        Dependency("api-gateway", "user-svc", 3, 0),
        Dependency("checkout", "inventory", 1, 0),
        Dependency("checkout", "payment", 3, 2),
    ]
    # api-gateway -> checkout: ERR1, ERR2, OK, SLOW (weight 1) and SAMPLED (20, an error);
    # checkout spans last 440, 440, 240, 1890 and 640 (weight 20) ms: 640 is the weighted
    # median and p95 (it holds 20 of the 24)
    gateway = found[0]
    assert (gateway.estimated_calls, gateway.estimated_errors) == (24.0, 22.0)
    assert (gateway.p50_ns, gateway.p95_ns) == (640 * MS, 640 * MS)
    assert all(e.kind == "call" for e in found)
    # only the first two traces
    assert _stored(svc.dependencies(WINDOW[0], d.at(ERR2, 999))) == [
        Dependency("api-gateway", "checkout", 2, 2),
        Dependency("checkout", "payment", 2, 2),
    ]
    assert svc.dependencies(d.at(HOSTILE, 100), d.at(HOSTILE, 200)) == []


# ------------------------------------------------------------------------------ slowest
def test_slowest_order_and_durations(svc):
    found = svc.slowest(*WINDOW, limit=5)
    assert ids(found) == [SLOW, FRAG, SAMPLED, ERR2, ERR1]      # 500 ms tie: latest first
    assert [s.duration_ns for s in found] == [2000 * MS, 1200 * MS, 700 * MS, 500 * MS, 500 * MS]
    slow, frag, sampled = found[:3]
    assert (slow.root_service, slow.root_operation, slow.span_count, slow.error_count,
            slow.services, slow.start_ns) == (
        "api-gateway", "GET /slow", 2, 0, ("api-gateway", "checkout"), d.at(SLOW))
    # root-less: last end - first start; the earliest span stands for the root
    assert (frag.root_service, frag.root_operation, frag.error_count, frag.services) == (
        "inventory", "reserve", 1, ("inventory",))
    assert sampled.estimated_count == 20.0 and slow.estimated_count == 1.0
    assert len(svc.slowest(*WINDOW)) == len(ALL)


def test_slowest_filters(svc):
    assert ids(svc.slowest(*WINDOW, service="payment")) == [ERR2, ERR1, OK]
    assert ids(svc.slowest(*WINDOW, service="checkout", limit=2)) == [SLOW, SAMPLED]
    assert ids(svc.slowest(*WINDOW, operation="GET /profile")) == [U3, U2, U1]
    assert ids(svc.slowest(*WINDOW, attributes=(
        AttributeFilter("deployment.environment", "prod-eu"),))) == [ERR2, ERR1, OK]
    # traces that STARTED in the window: SLOW starts at 3000 ms, FRAG at 5000 ms
    assert ids(svc.slowest(d.at(SLOW, 1), d.at(FRAG, 4000))) == [FRAG, SAMPLED]


# ------------------------------------------------------------------------------ errors
def _core(e: ServiceErrors) -> ServiceErrors:
    """The row without its series (checked on their own)."""
    return replace(e, series=(), series_step_ns=0)


def test_errors_by_service(svc):
    found = svc.errors_by_service(*WINDOW)
    assert [e.service for e in found] == ["checkout", "api-gateway", "payment", "inventory"]
    by = {e.service: _core(e) for e in found}
    # checkout: ERR1, ERR2 (weight 1) and SAMPLED (weight 20, "timeout") fail; the sampled
    # message ranks first by the estimate (20 > 2)
    assert by["checkout"] == ServiceErrors(
        service="checkout", error_spans=3, error_traces=3, requests=5, error_rate=3 / 5,
        estimated_error_spans=22.0, estimated_requests=24.0, estimated_error_rate=22 / 24,
        origin_spans=1, role="both",
        top_messages=(("timeout", 1), ("payment failed", 2)),
        top_operations=(("POST /checkout", 3),), estimated_error_requests=22.0,
        message_estimates=(20.0, 2.0),
        operation_details=(TopOperation("POST /checkout", 3, 22.0),))
    assert by["api-gateway"] == ServiceErrors(
        service="api-gateway", error_spans=2, error_traces=2, requests=9, error_rate=2 / 9,
        estimated_error_spans=2.0, estimated_requests=28.0, estimated_error_rate=2 / 28,
        origin_spans=0, role="propagates",
        top_messages=(("upstream failed", 2),), top_operations=(("GET /checkout", 2),),
        estimated_error_requests=2.0, message_estimates=(2.0,),
        operation_details=(TopOperation("GET /checkout", 2, 2.0),))
    assert by["payment"] == ServiceErrors(
        service="payment", error_spans=2, error_traces=2, requests=3, error_rate=2 / 3,
        estimated_error_spans=2.0, estimated_requests=3.0, estimated_error_rate=2 / 3,
        origin_spans=2, role="origin",
        top_messages=(("card declined", 1), ("insufficient funds", 1)),
        top_operations=(("charge", 2),), estimated_error_requests=2.0,
        message_estimates=(1.0, 1.0), operation_details=(TopOperation("charge", 2, 2.0),))
    # a client span's error: no failed request (requests are server/consumer/root spans)
    assert by["inventory"] == ServiceErrors(
        service="inventory", error_spans=1, error_traces=1, requests=2, error_rate=0.0,
        estimated_error_spans=1.0, estimated_requests=2.0, estimated_error_rate=0.0,
        origin_spans=1, role="origin",
        top_messages=(("deadlock", 1),), top_operations=(("SELECT stock", 1),),
        message_estimates=(1.0,), operation_details=(TopOperation("SELECT stock", 1, 1.0),))
    assert by["checkout"].to_json()["top_messages"][0] == {
        "message": "timeout", "estimated_count": 20.0, "count": 1}
    # the API's order: origin services first (payment, inventory), then both, then propagates
    assert [e.service for e in origin_first(found)] == [
        "payment", "inventory", "checkout", "api-gateway"]


def test_errors_over_time(svc):
    found = {e.service: e for e in svc.errors_by_service(*WINDOW)}
    checkout = found["checkout"]
    step = checkout.series_step_ns
    assert step == step_ns(*WINDOW) and (WINDOW[1] - WINDOW[0]) / step <= MAX_BUCKETS
    # every bucket of the window, the same for every service, aligned on the step
    starts = [b.start_ns for b in checkout.series]
    assert starts == list(range(WINDOW[0] // step * step, WINDOW[1] + 1, step))
    assert all([b.start_ns for b in e.series] == starts for e in found.values())
    # the buckets add up to the service's totals
    for e in found.values():
        assert sum(b.errors for b in e.series) == e.estimated_error_requests
        assert sum(b.error_spans for b in e.series) == e.estimated_error_spans
        assert sum(b.requests for b in e.series) == e.estimated_requests
    # the sampled trace's checkout error (weight 20) is in the bucket of its start
    at = d.at(SAMPLED, 10)
    bucket = next(b for b in checkout.series if b.start_ns <= at < b.start_ns + step)
    assert bucket.errors >= 20.0
    data = checkout.to_json()
    assert data["series_step_ms"] == step // MS and len(data["series"]) == len(starts)
    assert set(data["series"][0]) == {"t", "t_ns", "errors", "error_spans", "requests"}


def test_top_operation_is_telling():
    assert TopOperation("POST", 3, 60.0, "/charge", "payment").label == "POST /charge → payment"
    assert TopOperation("GET /checkout", 1, 1.0, "/checkout").label == "GET /checkout"
    assert TopOperation("charge", 1, 1.0).to_json() == {
        "operation": "charge", "label": "charge", "route": "", "peer": "",
        "estimated_count": 1.0, "count": 1}


def test_errors_in_a_window_without_errors(svc):
    assert svc.errors_by_service(d.at(U1), d.at(U3, 100)) == []


def test_errors_window_restricts(svc):
    found = svc.errors_by_service(d.at(SAMPLED), d.at(SAMPLED, 999))
    assert [(e.service, e.error_spans, e.estimated_error_spans, e.role) for e in found] == [
        ("checkout", 1, 20.0, "origin")]


# ------------------------------------------------------------------------------ search
def test_search_recent_is_every_trace_latest_first(svc):
    assert ids(svc.search(q())) == [HOSTILE, U3, U2, U1, FRAG, SAMPLED, SLOW, OK, ERR2, ERR1]
    assert ids(svc.search(q(limit=3))) == [HOSTILE, U3, U2]


def test_search_service_operation_status(svc):
    assert ids(svc.search(q(service="payment", status="error"))) == [ERR2, ERR1]
    assert ids(svc.search(q(status="ok"))) == [OK, ERR1]      # ERR1's "SELECT cards" is Ok
    assert ids(svc.search(q(service="payment", status="ok"))) == [OK, ERR1]
    assert ids(svc.search(q(service="checkout", status="unset"))) == [SLOW]
    assert ids(svc.search(q(status="error"))) == [FRAG, SAMPLED, ERR2, ERR1]
    assert ids(svc.search(q(operation="charge"))) == [OK, ERR2, ERR1]
    assert ids(svc.search(q(service="user-svc", operation="charge"))) == []
    assert svc.search(q(service="no-such-service")) == []


def test_search_span_versus_trace_durations(svc):
    # span-level: some span of the trace lasts >= 1.15 s (FRAG's longest span: 1.1 s)
    assert ids(svc.search(q(span_min_duration_ns=1150 * MS))) == [SLOW]
    assert ids(svc.search(q(span_min_duration_ns=1000 * MS))) == [FRAG, SLOW]
    # trace-level: FRAG lasts 1.2 s (last end - first start)
    assert ids(svc.search(q(trace_min_duration_ns=1150 * MS))) == [FRAG, SLOW]
    assert ids(svc.search(q(trace_min_duration_ns=400 * MS, trace_max_duration_ns=600 * MS))) == [
        ERR2, ERR1]
    # the span matching service/operation must be the one in the range
    assert ids(svc.search(q(service="checkout", span_min_duration_ns=1000 * MS))) == [SLOW]
    assert ids(svc.search(q(service="payment", span_min_duration_ns=1000 * MS))) == []
    assert ids(svc.search(q(service="payment", span_max_duration_ns=15 * MS))) == [ERR2, ERR1]
    assert ids(svc.search(q(service="payment", trace_min_duration_ns=400 * MS,
                            sort="slowest"))) == [ERR2, ERR1]


def test_search_sorts(svc):
    assert ids(svc.search(q(sort="slowest", limit=3))) == [SLOW, FRAG, SAMPLED]
    assert ids(svc.search(q(sort="most_spans", limit=3))) == [OK, ERR2, ERR1]
    assert ids(svc.search(q(sort="most_errors", limit=4))) == [ERR2, ERR1, FRAG, SAMPLED]
    found = svc.search(q(sort="most_errors", limit=1))
    assert (found[0].span_count, found[0].error_count) == (4, 3)


def test_search_attribute_filters(svc):
    eq = AttributeFilter("user.id", "u-42")
    assert ids(svc.search(q(attributes=(eq,)))) == [U3, U2, U1]
    assert ids(svc.search(q(attributes=(AttributeFilter("http.route", op="exists"),)))) == [SLOW]
    assert ids(svc.search(q(attributes=(AttributeFilter("user.id", r"^u-[0-9]+$", "regex"),)))) == [
        U3, U2, U1, OK]
    assert ids(svc.search(q(attributes=(AttributeFilter("user.id", "7$", "regex"),)))) == [OK]
    # a resource attribute
    env = AttributeFilter("deployment.environment", "prod-eu")
    assert ids(svc.search(q(attributes=(env,)))) == [OK, ERR2, ERR1]
    assert ids(svc.search(q(attributes=(AttributeFilter("deployment.environment", op="exists"),)))) == [
        FRAG, OK, ERR2, ERR1]
    # ANDed, each on any span of the trace (user.id on the gateway, the resource on payment)
    assert ids(svc.search(q(attributes=(env, AttributeFilter("user.id", "u-7"))))) == [OK]
    assert ids(svc.search(q(attributes=(env, eq)))) == []
    # with a span-level filter on another span
    assert ids(svc.search(q(service="checkout", attributes=(AttributeFilter("user.id", "u-7"),)))) == [OK]
    # an empty value only matches a present key
    assert svc.search(q(attributes=(AttributeFilter("user.id", ""),))) == []
    # combined with a sort and trace-level durations
    assert ids(svc.search(q(attributes=(env,), sort="slowest", trace_max_duration_ns=400 * MS))) == [OK]


def test_search_summary_json(svc):
    (found,) = svc.search(q(attributes=(AttributeFilter("user.id", "u-7"),)))
    doc = found.to_json()
    assert doc["trace_id"] == OK and doc["duration_ms"] == 300.0 and doc["span_count"] == 4
    assert doc["services"] == ["api-gateway", "checkout", "inventory", "payment"]


def test_find_traces_returns_whole_traces_in_search_order(svc):
    traces = svc.find_traces(q(service="payment"))
    assert [t[0].trace_id for t in traces] == [OK, ERR2, ERR1]
    for trace in traces:
        assert trace == svc.get_trace(trace[0].trace_id)
    assert [len(t) for t in traces] == [4, 4, 4]
    assert svc.find_traces(q(service="nope")) == []


# ------------------------------------------------------------------------------ find by attribute
def test_find_by_attribute_nearest_first_within_window(svc):
    found = svc.find_by_attribute("user.id", "u-42", d.at(U2, 2000), 15 * S)
    assert ids(found) == [U2, U1]                       # U3 starts 20 s after: outside
    assert ids(svc.find_by_attribute("user.id", "u-42", d.at(U3, -9000), 20 * S)) == [U3, U2]
    assert ids(svc.find_by_attribute("user.id", "u-42", d.at(U2), 60 * S, limit=1)) == [U2]
    assert svc.find_by_attribute("user.id", "u-42", d.at(HOSTILE, 5000), 1 * S) == []
    # a resource attribute
    assert ids(svc.find_by_attribute("deployment.environment", "prod-eu", d.at(ERR2), 1500 * MS)) == [
        ERR2, ERR1, OK]
    assert svc.find_by_attribute("user.id", "u-4", d.at(U2), 60 * S) == []


# ------------------------------------------------------------------------------ hostile input
def _span_count(admin, database) -> int:
    return admin.query(f"SELECT count() FROM `{database}`.otel_traces").result_rows[0][0]


def test_values_never_reach_sql_as_text(svc, loaded):
    database, _, admin = loaded
    before = _span_count(admin, database)
    for value in (DROP, "payment' OR '1'='1", "payment\\", "{service:String}", "`x`", "a\nb"):
        assert svc.search(q(service=value)) == []
        assert svc.search(q(operation=value)) == []
        assert svc.slowest(*WINDOW, service=value) == []
        assert svc.operations(value) == []
        assert svc.find_by_attribute("user.id", value, d.at(U2), 60 * S) == []
        assert svc.search(q(attributes=(AttributeFilter(value, op="exists"),))) == []
    # values holding SQL, quotes, backslashes, parameter syntax and newlines match exactly
    for key, value in d.HOSTILE_ATTRS.items():
        assert ids(svc.search(q(attributes=(AttributeFilter(key, value),)))) == [HOSTILE]
        assert ids(svc.search(q(attributes=(AttributeFilter(key, op="exists"),)))) == [HOSTILE]
        assert ids(svc.find_by_attribute(key, value, d.at(HOSTILE), S)) == [HOSTILE]
    # regex metacharacters: literal with eq, a pattern with regex
    assert ids(svc.search(q(attributes=(AttributeFilter("pattern", "a.b*c"),)))) == [HOSTILE]
    assert svc.search(q(attributes=(AttributeFilter("pattern", "a.b"),))) == []
    assert ids(svc.search(q(attributes=(AttributeFilter("pattern", r"^a\.b\*c$", "regex"),)))) == [HOSTILE]
    assert svc.search(q(attributes=(AttributeFilter("pattern", r"^a\.b$", "regex"),))) == []
    assert ids(svc.search(q(attributes=(AttributeFilter("q", "DROP TABLE", "regex"),)))) == [HOSTILE]
    # the table survived
    assert _span_count(admin, database) == before == 25
    assert svc.services() == ["api-gateway", "checkout", "inventory", "payment", "user-svc"]


@pytest.mark.parametrize("kw", [
    {"limit": 0}, {"limit": MAX_LIMIT + 1}, {"limit": 10 ** 12}, {"limit": -1}, {"limit": True},
    {"limit": "20"}, {"sort": "oldest"}, {"sort": "recent; DROP TABLE x"}, {"status": "failed"},
    {"span_min_duration_ns": -1}, {"trace_min_duration_ns": 2 * S, "trace_max_duration_ns": S},
    {"span_min_duration_ns": 2 * S, "span_max_duration_ns": S}, {"service": 42},
    {"attributes": (AttributeFilter("", "x"),)}, {"attributes": (AttributeFilter("k", "x", "like"),)},
    {"attributes": (AttributeFilter("k", "((", "regex"),)}, {"attributes": ("user.id=u-42",)},
])
def test_invalid_search_input(svc, kw):
    with pytest.raises(InvalidInput):
        svc.search(q(**kw))
    with pytest.raises(InvalidInput):
        svc.find_traces(q(**kw))


def test_invalid_windows_and_limits(svc):
    for call in (
        lambda: svc.search(SearchQuery(WINDOW[1], WINDOW[0])),
        lambda: svc.search(SearchQuery(-5, WINDOW[1])),
        lambda: svc.search(SearchQuery(2 ** 63, 2 ** 64)),
        lambda: svc.slowest(*WINDOW, limit=MAX_LIMIT + 1),
        lambda: svc.slowest(*WINDOW, attributes=(AttributeFilter("k", "[", "regex"),)),
        lambda: svc.errors_by_service(WINDOW[1], WINDOW[0]),
        lambda: svc.errors_by_service("now", WINDOW[1]),
        lambda: svc.dependencies(1.5, WINDOW[1]),
        lambda: svc.find_by_attribute("user.id", "u-42", d.at(U2), S, limit=0),
        lambda: svc.find_by_attribute("user.id", "u-42", d.at(U2), -S),
        lambda: svc.find_by_attribute("", "u-42", d.at(U2), S),
        lambda: svc.find_by_attribute("user.id", None, d.at(U2), S),
        lambda: svc.operations(None, "rpc"),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert len(svc.search(q(limit=MAX_LIMIT))) == len(ALL)


def test_bad_identifiers_are_refused():
    from spanhouse.errors import ConfigError
    with pytest.raises(ConfigError):
        QueryService(Pool(lambda: None), "default", "otel_traces; DROP TABLE x")
    with pytest.raises(ConfigError):
        QueryService(Pool(lambda: None), "a`b", "otel_traces")


def test_concurrent_queries(svc):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ids(svc.slowest(*WINDOW, limit=3)), range(12)))
    assert results == [[SLOW, FRAG, SAMPLED]] * 12


# ------------------------------------------------------------------------------ exporter tables
LEGACY = "1e9ac0000000000000000000000000aa"


def _legacy_rows() -> list[list]:
    """An old exporter release's spellings: SPAN_KIND_SERVER / STATUS_CODE_ERROR."""
    t0 = d.B + 30_000 * MS
    return [
        [t0, LEGACY, "1e9ac00000000001", "", "", "GET /old", "SPAN_KIND_SERVER", "legacy",
         {"service.name": "legacy"}, "", "", {"user.id": "u-old"}, 80 * MS, "STATUS_CODE_ERROR",
         "old failure", [], [], [], [], [], [], []],
        [t0 + 5 * MS, LEGACY, "1e9ac00000000002", "1e9ac00000000001", "", "call", "SPAN_KIND_CLIENT",
         "legacy", {"service.name": "legacy"}, "", "", {}, 10 * MS, "STATUS_CODE_OK", "",
         [], [], [], [], [], [], []],
    ]


@pytest.fixture(params=list(VARIANTS))
def exporter_service(request, query_store, client_factory):
    from tests.query.conftest import new_database
    database = new_database("exporter")
    chdb_dir = query_store[len("chdb://"):]
    create_exporter_tables(chdb_dir, request.param, database)
    writer = TraceWriter(client_factory(), database, "otel_traces")
    assert "AdjustedCount" not in writer.columns
    for batch in d.batches():
        writer.write(batch)
    client_factory().insert(f"{database}.otel_traces", _legacy_rows(),
                            column_names=EXPORTER_INSERT_COLUMNS)
    return QueryService(Pool(client_factory, size=2), database, "otel_traces")


def test_exporter_table_without_spanhouse_columns(exporter_service):
    svc = exporter_service
    assert svc.services() == ["api-gateway", "checkout", "inventory", "legacy", "payment", "user-svc"]
    assert svc.operations("legacy") == [Operation("GET /old", "server"), Operation("call", "client")]
    assert svc.operations("legacy", "server") == [Operation("GET /old", "server")]
    found = svc.slowest(*WINDOW, limit=4)
    assert ids(found) == [SLOW, FRAG, SAMPLED, ERR2]
    assert found[2].estimated_count == 1.0                # no AdjustedCount column: weight 1
    by = {e.service: e for e in svc.errors_by_service(*WINDOW)}
    checkout = by["checkout"]
    assert (checkout.error_spans, checkout.estimated_error_spans, checkout.estimated_requests,
            checkout.estimated_error_rate, checkout.role) == (3, 3.0, 5.0, 3 / 5, "both")
    legacy = by["legacy"]
    assert (legacy.error_spans, legacy.requests, legacy.error_rate, legacy.role,
            legacy.top_messages) == (1, 1, 1.0, "origin", (("old failure", 1),))
    assert ids(svc.search(q(service="legacy", status="error"))) == [LEGACY]
    assert ids(svc.search(q(service="legacy", status="ok"))) == [LEGACY]
    assert ids(svc.search(q(status="error", sort="most_errors", limit=1))) == [ERR2]
    assert ids(svc.find_by_attribute("user.id", "u-old", d.at(U2), 60 * S)) == [LEGACY]
    edge = svc.dependencies(*WINDOW)[0]
    assert _stored([edge]) == [Dependency("api-gateway", "checkout", 5, 3)]
    assert (edge.estimated_calls, edge.estimated_errors) == (5.0, 3.0)   # weight 1 each
    (trace,) = svc.find_traces(q(service="legacy"))
    assert [s.name for s in trace] == ["GET /old", "call"]
    assert [(s.kind, s.status_code) for s in trace] == [(2, 2), (3, 1)]
