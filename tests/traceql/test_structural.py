"""Structural spanset operators (> >> < << ~, their !-negations and &-unions) on the
known-answer dataset, through the real chDB store. The expected spans are worked out here from
the dataset's parent links (``dataset.parent_of``/``ancestors``), by Tempo's definitions."""

from __future__ import annotations

import pytest

from spanhouse.analysis.store import AnalysisStore
from spanhouse.query.service import QueryService
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.search import search

from tests.traceql import dataset as ds

S, I, A, Op, F = ast.Static, ast.Intrinsic, ast.Attribute, ast.BinaryOperation, ast.SpansetFilter
NEWEST_FIRST = sorted(ds.START, key=lambda t: -ds.START[t])

SIDES = {
    "server": (F(Op("=", I("kind"), S(ast.KIND, "server"))), lambda s: s.kind == ds.SERVER),
    "client": (F(Op("=", I("kind"), S(ast.KIND, "client"))), lambda s: s.kind == ds.CLIENT),
    "error": (F(Op("=", I("status"), S(ast.STATUS, "error"))), lambda s: s.status == ds.ERROR),
    "all": (F(), lambda s: True),
    "route": (F(Op("=", A(ast.SPAN, "http.route"), S(ast.STRING, "/checkout"))),
              lambda s: s.attributes.get("http.route") == "/checkout"),
    "charge": (F(Op("=", I("name"), S(ast.STRING, "charge"))), lambda s: s.name == "charge"),
    "refund": (F(Op("=", I("name"), S(ast.STRING, "refund"))), lambda s: s.name == "refund"),
}
PAIRS = [("server", "client"), ("error", "all"), ("route", "error"), ("charge", "refund"),
         ("all", "error"), ("client", "client")]


def _relation(base: str, l: ds.Span, r: ds.Span) -> bool:
    """Does r stand in relation ``base`` to l (``l base r`` keeps r)?"""
    if base == ">":
        return ds.parent_of(r) is l
    if base == ">>":
        return l in ds.ancestors(r)
    if base == "<":
        return ds.parent_of(l) is r
    if base == "<<":
        return r in ds.ancestors(l)
    return l is not r and r.parent_id != "" and l.parent_id == r.parent_id   # ~


def expected(op: str, lhs, rhs, trace: str) -> set[str]:
    spans = ds.trace_spans(trace)
    left = [s for s in spans if lhs(s)]
    right = [s for s in spans if rhs(s)]
    base = op.lstrip("!&")
    related = [r for r in right if any(_relation(base, l, r) for l in left)]
    if op.startswith("!"):
        return {r.span_id for r in right if r not in related}
    out = {r.span_id for r in related}
    if op.startswith("&"):
        out |= {l.span_id for l in left if any(_relation(base, l, r) for r in right)}
    return out


@pytest.fixture(scope="module", params=["additions", "exporter_table"])
def reader(request, make_store):
    """With Spanhouse's schema additions (the tree from the span graph, summaries from the
    summary table) and without them (a table the collector's exporter created: everything
    from the traces table)."""
    service, store = make_store(ds.batches(), "structural")
    if request.param == "additions":
        return store
    plain = QueryService(service._readers, service._database, service._table,
                         use_additions=False)
    plain_store = AnalysisStore(None, service._database, service._table, query=plain)
    assert plain_store.tables().span_graph is None and plain_store.tables().summary is None
    return plain_store


@pytest.mark.parametrize("op", ast.STRUCTURAL)
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_structural_operator(reader, op, pair):
    (lhs_node, lhs), (rhs_node, rhs) = SIDES[pair[0]], SIDES[pair[1]]
    query = ast.Query(ast.Pipeline((ast.SpansetOperation(op, lhs_node, rhs_node),)))
    result = search(reader, query, ds.WINDOW[0], ds.WINDOW[1], 20, 100)
    want = {t: expected(op, lhs, rhs, t) for t in NEWEST_FIRST}
    assert [t.trace_id for t in result.traces] == [t for t in NEWEST_FIRST if want[t]]
    for t in result.traces:
        assert [{s.span_id for s in ss.spans} for ss in t.span_sets] == [want[t.trace_id]]
        assert t.span_sets[0].matched == len(want[t.trace_id])


def test_the_dataset_exercises_every_relation():
    """Each operator keeps something for some pair, so the tests above can fail."""
    for op in ast.STRUCTURAL:
        assert any(expected(op, SIDES[a][1], SIDES[b][1], t)
                   for a, b in PAIRS for t in NEWEST_FIRST), op


def test_nested_structural_operators(reader):
    # ({route} > {server}) > {client}: client spans whose parent is a server child of a route span
    inner = ast.SpansetOperation(">", SIDES["route"][0], SIDES["server"][0])
    query = ast.Query(ast.Pipeline((ast.SpansetOperation(">", inner, SIDES["client"][0]),)))
    result = search(reader, query, ds.WINDOW[0], ds.WINDOW[1], 20, 100)
    want = {}
    for s in ds.SPANS:
        p = ds.parent_of(s)
        if s.kind == ds.CLIENT and p is not None and p.kind == ds.SERVER and \
                ds.parent_of(p) is not None and SIDES["route"][1](ds.parent_of(p)):
            want.setdefault(s.trace, set()).add(s.span_id)
    assert want
    assert {t.trace_id: {s.span_id for s in t.span_sets[0].spans} for t in result.traces} == want


def test_structural_then_count(reader):
    query = ast.Query(ast.Pipeline((
        ast.SpansetOperation(">>", SIDES["route"][0], SIDES["all"][0]),
        ast.ScalarFilter(">=", ast.Aggregate("count"), S(ast.INT, 3)))))
    result = search(reader, query, ds.WINDOW[0], ds.WINDOW[1], 20, 100)
    want = [t for t in NEWEST_FIRST if len(expected(">>", SIDES["route"][1], lambda s: True, t)) >= 3]
    assert want
    assert [t.trace_id for t in result.traces] == want


def test_limit_with_rounds(reader):
    query = ast.Query(ast.Pipeline((ast.SpansetOperation(">", SIDES["all"][0], SIDES["all"][0]),)))
    result = search(reader, query, ds.WINDOW[0], ds.WINDOW[1], 1, 3)
    want = [t for t in NEWEST_FIRST if expected(">", lambda s: True, lambda s: True, t)]
    assert [t.trace_id for t in result.traces] == want[:1]
