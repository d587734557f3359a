"""The query service on Spanhouse's schema additions (per-trace summary, attribute index, entry
and error spans): they are found and used, and every answer equals the one the traces table
alone gives (``use_additions=False``, the exporter-table code path) - also when each span
arrived in its own insert (unmerged summary rows) and for values too long for the index."""

from __future__ import annotations

import pytest

from spanhouse.query import search as search_module
from spanhouse.query.model import AttributeFilter, SearchQuery
from spanhouse.query.service import QueryService
from spanhouse.query.sqlutil import MAX_INDEXED_BYTES
from spanhouse.store.pool import Pool
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter

from tests.query import dataset as d
from tests.query.conftest import new_database
from tests.query.dataset import (
    ERR1, ERR2, FRAG, HOSTILE, MS, OK, SAMPLED, SLOW, U1, U2, U3, WINDOW,
)

S = 1000 * MS
LONG = "v" * (MAX_INDEXED_BYTES + 1)


def q(**kw) -> SearchQuery:
    return SearchQuery(WINDOW[0], WINDOW[1], **kw)


QUERIES = [
    q(), q(limit=3), q(sort="slowest"), q(sort="most_spans", limit=3),
    q(sort="most_errors", limit=4), q(service="payment", status="error"), q(status="ok"),
    q(operation="charge"), q(span_min_duration_ns=1000 * MS),
    q(trace_min_duration_ns=400 * MS, trace_max_duration_ns=600 * MS),
    q(attributes=(AttributeFilter("user.id", "u-42"),)),
    q(attributes=(AttributeFilter("deployment.environment", "prod-eu"),), sort="slowest"),
    q(attributes=(AttributeFilter("deployment.environment", "prod-eu"),
                  AttributeFilter("user.id", "u-7"))),
    q(attributes=(AttributeFilter("user.id", "u-42"), AttributeFilter("http.route", op="exists"))),
    q(attributes=(AttributeFilter("deployment.environment", "prod-eu"),
                  AttributeFilter("user.id", "^u-", "regex"))),
    q(service="checkout", attributes=(AttributeFilter("user.id", "u-7"),)),
    q(attributes=(AttributeFilter("user.id", ""),)),
    q(attributes=(AttributeFilter("long", LONG),)),
    *(q(attributes=(AttributeFilter(k, v),)) for k, v in d.HOSTILE_ATTRS.items()),
    SearchQuery(d.at(U1), d.at(U2, 10), attributes=(AttributeFilter("user.id", "u-42"),)),
]


def answers(svc: QueryService) -> dict:
    """Every query's answer (whole summaries, not just ids)."""
    out = {f"search {i}": svc.search(query) for i, query in enumerate(QUERIES)}
    out["slowest"] = svc.slowest(*WINDOW)
    out["slowest payment"] = svc.slowest(*WINDOW, service="payment")
    out["slowest window"] = svc.slowest(d.at(SLOW, 1), d.at(FRAG, 4000))
    out["errors"] = svc.errors_by_service(*WINDOW)
    out["errors sampled"] = svc.errors_by_service(d.at(SAMPLED), d.at(SAMPLED, 999))
    out["errors none"] = svc.errors_by_service(d.at(U1), d.at(U3, 100))
    for key, value, at, window in (("user.id", "u-42", d.at(U2, 2000), 15 * S),
                                   ("user.id", "u-42", d.at(U3, -9000), 20 * S),
                                   ("deployment.environment", "prod-eu", d.at(ERR2), 1500 * MS),
                                   ("long", LONG, d.at(HOSTILE), S),
                                   *((k, v, d.at(HOSTILE), S) for k, v in d.HOSTILE_ATTRS.items())):
        out[f"find {key} {value[:20]} {at}"] = svc.find_by_attribute(key, value, at, window)
    out["find_traces"] = svc.find_traces(q(service="payment"))
    return out


def _write(client_factory, *, one_span_per_insert: bool) -> str:
    database = new_database("additions")
    create_schema(client_factory(), database, "otel_traces")
    writer = TraceWriter(client_factory(), database, "otel_traces")
    batches = d.batches()
    # one more span, on HOSTILE, whose attribute value is too long for the index
    extra = batches[0].take([len(batches[0]) - 1])
    extra.span_id = ["b0000000000000ff"]
    extra.attributes.values = [LONG if k == "q" else v
                               for k, v in zip(extra.attributes.keys, extra.attributes.values)]
    extra.attributes.keys = ["long" if k == "q" else k for k in extra.attributes.keys]
    for batch in batches + [extra]:
        if one_span_per_insert:
            for i in range(len(batch)):
                writer.write(batch.take([i]))
        else:
            writer.write(batch)
    return database


@pytest.fixture(scope="module", params=["one insert per batch", "one insert per span"])
def services(request, client_factory):
    database = _write(client_factory, one_span_per_insert=request.param == "one insert per span")
    with_additions = QueryService(Pool(client_factory, size=2), database, "otel_traces")
    without = QueryService(Pool(client_factory, size=2), database, "otel_traces",
                           use_additions=False)
    return database, with_additions, without


def test_the_additions_are_found(services, client_factory):
    database, with_additions, without = services
    tables = with_additions._tables.get(client_factory())
    assert tables.summary == f"`{database}`.`otel_traces_trace_summary`"
    assert tables.attributes == f"`{database}`.`otel_traces_attributes`"
    assert tables.entry_error == f"`{database}`.`otel_traces_entry_error_spans`"
    plain = without._tables.get(client_factory())
    assert (plain.summary, plain.attributes, plain.entry_error) == (None, None, None)


def test_the_additions_are_filled(services, client_factory):
    database, _, _ = services
    admin = client_factory()

    def one(sql):
        return admin.query(sql.replace("DB", f"`{database}`")).result_rows[0][0]

    assert one("SELECT uniqExact(TraceId) FROM DB.otel_traces_trace_summary") == 10
    assert one("SELECT sum(SpanCount) FROM DB.otel_traces_trace_summary") == 26
    assert one("SELECT count() FROM DB.otel_traces_attributes WHERE Key = 'user.id'") == 4
    assert one("SELECT count() FROM DB.otel_traces_attributes WHERE Key = 'long'") == 0
    assert one("SELECT countIf(IsError = 1) FROM DB.otel_traces_entry_error_spans") == 8


def test_same_answers_with_and_without_the_additions(services):
    _, with_additions, without = services
    fast, slow = answers(with_additions), answers(without)
    assert fast.keys() == slow.keys()
    for name in fast:
        assert fast[name] == slow[name], name


def test_the_answers_are_the_known_ones(services):
    """A few of test_query_service.py's exact answers, on the additions."""
    _, svc, _ = services
    ids = lambda found: [s.trace_id for s in found]  # noqa: E731
    assert ids(svc.slowest(*WINDOW, limit=5)) == [SLOW, FRAG, SAMPLED, ERR2, ERR1]
    frag = svc.slowest(*WINDOW, limit=2)[1]
    assert (frag.root_service, frag.root_operation, frag.duration_ns, frag.services) == (
        "inventory", "reserve", 1200 * MS, ("inventory",))
    assert svc.slowest(*WINDOW, limit=3)[2].estimated_count == 20.0
    assert ids(svc.search(q(attributes=(AttributeFilter("deployment.environment", "prod-eu"),
                                        AttributeFilter("user.id", "u-7"))))) == [OK]
    assert ids(svc.find_by_attribute("user.id", "u-42", d.at(U2, 2000), 15 * S)) == [U2, U1]
    assert ids(svc.find_by_attribute("long", LONG, d.at(HOSTILE), S)) == [HOSTILE]
    assert [(e.service, e.error_spans, e.origin_spans, e.role)
            for e in svc.errors_by_service(*WINDOW)] == [
        ("checkout", 3, 1, "both"), ("api-gateway", 2, 0, "propagates"),
        ("payment", 2, 2, "origin"), ("inventory", 1, 1, "origin")]


def test_the_index_serves_eq_filters_and_the_scan_the_others(services, client_factory):
    _, svc, _ = services
    tables = svc._tables.get(client_factory())
    params: dict = {}
    sql = search_module.candidate_sql(tables, q(attributes=(
        AttributeFilter("user.id", "u-42"), AttributeFilter("http.route", op="exists"),
        AttributeFilter("long", LONG))), params)
    assert f"FROM {tables.attributes} PREWHERE Key = {{ak0:String}}" in sql
    assert "{ak1:String}" in sql and "mapContains(SpanAttributes, {ak1:String})" in sql
    assert "mapContains(SpanAttributes, {ak2:String})" in sql     # too long for the index
    assert "mapContains(SpanAttributes, {ak0:String})" not in sql.split("GROUP BY TraceId HAVING")[0] \
        .split(f"FROM {tables.attributes}")[1].split(")")[0]
    assert LONG not in sql and "u-42" not in sql                  # bound, never in the text
