"""TraceQL search on the known-answer dataset (tests/traceql/dataset.py), through the real
chDB store: filters, spanset && and ||, pipelines, limit and spss, the response's fields.
Expected values come from the dataset's definition (``SPANS``), never from the engine."""

from __future__ import annotations

import pytest

from spanhouse.errors import InvalidInput
from spanhouse.analysis.store import AnalysisStore
from spanhouse.query.service import QueryService
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.search import search, statements

from tests.traceql import dataset as ds
from tests.traceql.dataset import SPANS

S, I, A, Op, F = ast.Static, ast.Intrinsic, ast.Attribute, ast.BinaryOperation, ast.SpansetFilter
NEWEST_FIRST = sorted(ds.START, key=lambda t: -ds.START[t])


def q(*stages, metrics=None) -> ast.Query:
    return ast.Query(ast.Pipeline(tuple(stages)), metrics)


def eq(field, v) -> F:
    kind = {str: ast.STRING, int: ast.INT, float: ast.FLOAT, bool: ast.BOOL}[type(v)]
    return F(Op("=", field, S(kind, v)))


def name(v) -> F:
    return eq(I("name"), v)


ERROR = F(Op("=", I("status"), S(ast.STATUS, "error")))
SERVICE = A(ast.RESOURCE, "service.name")


@pytest.fixture(scope="module", params=["additions", "exporter_table"])
def reader(request, make_store):
    """With Spanhouse's schema additions and without them (the code path of a table the
    collector's exporter created)."""
    service, store = make_store(ds.batches(), "search")
    if request.param == "additions":
        return store
    plain = QueryService(service._readers, service._database, service._table,
                         use_additions=False)
    return AnalysisStore(None, service._database, service._table, query=plain)


def run(reader, query, limit=20, spss=100):
    return search(reader, query, ds.WINDOW[0], ds.WINDOW[1], limit, spss)


def expected_traces(pred) -> list[str]:
    """Traces with a span matching ``pred``, newest first."""
    hits = {s.trace for s in SPANS if pred(s)}
    return [t for t in NEWEST_FIRST if t in hits]


def span_ids(trace_match) -> list[set]:
    return [{s.span_id for s in ss.spans} for ss in trace_match.span_sets]


def test_filter_finds_the_traces_and_their_matching_spans(reader):
    result = run(reader, q(eq(A(ast.SPAN, "http.route"), "/checkout")))
    pred = lambda s: s.attributes.get("http.route") == "/checkout"
    assert [t.trace_id for t in result.traces] == expected_traces(pred)
    for t in result.traces:
        want = {s.span_id for s in SPANS if s.trace == t.trace_id and pred(s)}
        assert span_ids(t) == [want]
        assert t.span_sets[0].matched == len(want)
        for span in t.span_sets[0].spans:
            assert span.attributes == {"span.http.route": "/checkout"}


def test_trace_fields_come_from_the_trace(reader):
    result = run(reader, q(F()))
    assert [t.trace_id for t in result.traces] == NEWEST_FIRST
    for t in result.traces:
        root = ds.root(t.trace_id)
        assert t.root_service_name == (root.service if root else "")
        assert t.root_trace_name == (root.name if root else "")
        assert t.start_ns == ds.trace_start_ns(t.trace_id)
        if root is not None:
            assert t.duration_ns == root.duration_ns
        assert t.span_sets[0].matched == len(ds.trace_spans(t.trace_id))


def test_span_fields_and_typed_attributes(reader):
    result = run(reader, q(F(Op(">", A(ast.SPAN, "http.status_code"), S(ast.INT, 0)))))
    spans = {s.span_id: s for t in result.traces for ss in t.span_sets for s in ss.spans}
    want = [s for s in SPANS if isinstance(s.attributes.get("http.status_code"), int)]
    assert set(spans) == {s.span_id for s in want}
    for s in want:
        got = spans[s.span_id]
        assert (got.name, got.service_name, got.start_ns, got.duration_ns) == \
            (s.name, s.service, s.start_ns, s.duration_ns)
        value = got.attributes["span.http.status_code"]
        assert value == s.attributes["http.status_code"] and isinstance(value, int)


def test_limit_keeps_the_newest(reader):
    result = run(reader, q(F()), limit=2)
    assert [t.trace_id for t in result.traces] == NEWEST_FIRST[:2]


def test_spss_keeps_the_earliest_spans_and_counts_all(reader):
    result = run(reader, q(F(Op("=", I("trace:id"), S(ast.STRING, ds.CHECKOUT)))), spss=2)
    (trace,) = result.traces
    spans = sorted(ds.trace_spans(ds.CHECKOUT), key=lambda s: s.start_ns)
    assert [s.span_id for s in trace.span_sets[0].spans] == [s.span_id for s in spans[:2]]
    assert trace.span_sets[0].matched == len(spans)


def test_spanset_and_needs_both_sides(reader):
    result = run(reader, q(ast.SpansetOperation("&&", name("charge"), name("SELECT"))))
    both = [t for t in NEWEST_FIRST
            if {"charge", "SELECT"} <= {s.name for s in ds.trace_spans(t)}]
    assert [t.trace_id for t in result.traces] == both
    for t in result.traces:
        want = {s.span_id for s in ds.trace_spans(t.trace_id) if s.name in ("charge", "SELECT")}
        assert span_ids(t) == [want]


def test_spanset_or_takes_either(reader):
    result = run(reader, q(ast.SpansetOperation("||", name("refund"), name("INSERT"))))
    assert [t.trace_id for t in result.traces] == \
        expected_traces(lambda s: s.name in ("refund", "INSERT"))


def test_count_filter(reader):
    result = run(reader, q(ERROR, ast.ScalarFilter(">", ast.Aggregate("count"), S(ast.INT, 1))))
    errors = {t: sum(1 for s in ds.trace_spans(t) if s.status == ds.ERROR) for t in ds.START}
    assert [t.trace_id for t in result.traces] == [t for t in NEWEST_FIRST if errors[t] > 1]
    for t in result.traces:
        assert t.span_sets[0].attributes == {"count()": errors[t.trace_id]}


@pytest.mark.parametrize("fn, threshold_ms", [("avg", 300), ("max", 1000), ("min", 50),
                                              ("sum", 700)])
def test_duration_aggregates(reader, fn, threshold_ms):
    stage = ast.ScalarFilter(">", ast.Aggregate(fn, I("duration")),
                             S(ast.DURATION, threshold_ms * ds.MS))
    result = run(reader, q(eq(SERVICE, "cart"), stage))
    agg = {"avg": lambda v: sum(v) / len(v), "max": max, "min": min, "sum": sum}[fn]
    want = []
    for t in NEWEST_FIRST:
        durations = [s.duration_ns for s in ds.trace_spans(t) if s.service == "cart"]
        if durations and agg(durations) > threshold_ms * ds.MS:
            want.append(t)
    assert want, "the threshold should keep some trace"
    assert [t.trace_id for t in result.traces] == want


def test_scalar_filter_with_arithmetic_over_an_attribute(reader):
    stage = ast.ScalarFilter("=", ast.Aggregate("sum", A(ast.SPAN, "cart.items")),
                             Op("+", S(ast.INT, 1), S(ast.INT, 2)))
    result = run(reader, q(F(Op("!=", A(ast.SPAN, "cart.items"), S(ast.NIL, None))), stage))
    want = [t for t in NEWEST_FIRST
            if sum(s.attributes.get("cart.items", 0) for s in ds.trace_spans(t)) == 3]
    assert [t.trace_id for t in result.traces] == want


def test_by_splits_spansets(reader):
    result = run(reader, q(ERROR, ast.GroupBy(SERVICE)))
    for t in result.traces:
        errors = [s for s in ds.trace_spans(t.trace_id) if s.status == ds.ERROR]
        got = {ss.attributes["by(resource.service.name)"]: {s.span_id for s in ss.spans}
               for ss in t.span_sets}
        want: dict = {}
        for s in errors:
            want.setdefault(s.service, set()).add(s.span_id)
        assert got == want
    assert [t.trace_id for t in result.traces] == expected_traces(lambda s: s.status == ds.ERROR)


def test_coalesce_merges_spansets(reader):
    result = run(reader, q(ERROR, ast.GroupBy(SERVICE), ast.Coalesce()))
    for t in result.traces:
        assert span_ids(t) == [{s.span_id for s in ds.trace_spans(t.trace_id)
                                if s.status == ds.ERROR}]


def test_select_adds_fields(reader):
    result = run(reader, q(name("charge"), ast.Select((A(ast.SPAN, "amount"), I("kind")))))
    seen = 0
    for t in result.traces:
        for span in t.span_sets[0].spans:
            s = ds.BY_ID[span.span_id]
            want = {"kind": ds.KIND_NAMES[s.kind]}
            if "amount" in s.attributes:
                want["span.amount"] = s.attributes["amount"]
            assert span.attributes == want
            seen += 1
    assert seen == sum(1 for s in SPANS if s.name == "charge")


def test_later_filter_narrows_spansets(reader):
    result = run(reader, q(eq(SERVICE, "payment"), ERROR))
    pred = lambda s: s.service == "payment" and s.status == ds.ERROR
    assert [t.trace_id for t in result.traces] == expected_traces(pred)
    for t in result.traces:
        assert span_ids(t) == [{s.span_id for s in ds.trace_spans(t.trace_id) if pred(s)}]


def test_trace_level_intrinsics(reader):
    stage = F(Op("&&", Op("=", I("rootServiceName"), S(ast.STRING, "frontend")),
                 Op(">", I("traceDuration"), S(ast.DURATION, 700 * ds.MS))))
    result = run(reader, q(stage))
    want = [t for t in NEWEST_FIRST if ds.root(t) and ds.root(t).service == "frontend"
            and ds.trace_duration_ns(t) > 700 * ds.MS]
    assert [t.trace_id for t in result.traces] == want


def test_a_metrics_query_is_not_a_search(reader):
    with pytest.raises(InvalidInput):
        run(reader, q(F(), metrics=ast.MetricsAggregate("rate")))


def test_statements_have_placeholders_only(reader):
    texts = statements(reader, q(eq(A(ast.SPAN, "http.route"), "/checkout")))
    assert len(texts) == 3
    assert all("/checkout" not in t for t in texts)
    assert "{p1:String}" in texts[0]


# ----------------------------------------------------------------------------- through the engine
@pytest.fixture(scope="module")
def engine(make_engine):
    return make_engine(ds.batches(), "engine")


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


TEXT_CASES = [
    ('{ span.http.route = "/checkout" }', lambda s: s.attributes.get("http.route") == "/checkout"),
    ('{ span.code = 200 }', lambda s: s.attributes.get("code") == 200),
    ('{ span.code = "200" }', lambda s: s.attributes.get("code") == "200"),
    ('{ span.http.status_code >= 400 }',
     lambda s: _num(s.attributes.get("http.status_code")) and s.attributes["http.status_code"] >= 400),
    ('{ span.amount > 12.0 }', lambda s: _num(s.attributes.get("amount")) and s.attributes["amount"] > 12),
    ('{ span.retry = true }', lambda s: s.attributes.get("retry") is True),
    ('{ span.user.tier != nil }', lambda s: "user.tier" in s.attributes),
    ('{ .region = "eu" }', lambda s: s.attr("region") == "eu"),
    ('{ resource.pci = true }', lambda s: s.resource.get("pci") is True),
    ('{ resource.service.name = "cart" && duration > 500ms }',
     lambda s: s.service == "cart" and s.duration_ns > 500 * ds.MS),
    ('{ name =~ "GET .*" && kind = server }', lambda s: s.name.startswith("GET ") and s.kind == ds.SERVER),
    ('{ name !~ ".*cart" }', lambda s: not s.name.endswith("cart")),
    ('{ status = error || statusMessage = "deadlock" }', lambda s: s.status == ds.ERROR),
    ('{ status != unset }', lambda s: s.status != ds.UNSET),
    ('{ kind = consumer }', lambda s: s.kind == ds.CONSUMER),
    ('{ event:name = "exception" }', lambda s: "exception" in s.events),
    ('{ link:traceID = "%s" }' % ds.CHECKOUT, lambda s: bool(s.links)),
    ('{ instrumentation:name = "io.otel.flask" }', lambda s: s.service == "frontend"),
    ('{ span:parentID = "deadbeefdeadbeef" }', lambda s: s.parent == "deadbeefdeadbeef"),
    ('{ duration * 2 > 1s }', lambda s: s.duration_ns * 2 > 10**9),
    ('{ rootServiceName = "frontend" && name = "charge" }',
     lambda s: s.name == "charge" and ds.root(s.trace) is not None),
]


@pytest.mark.parametrize("text, pred", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_queries_as_text(engine, text, pred):
    result = engine.search(text, ds.WINDOW[0], ds.WINDOW[1], limit=20, spss=100)
    assert [t.trace_id for t in result.traces] == expected_traces(pred)
    for t in result.traces:
        assert span_ids(t) == [{s.span_id for s in ds.trace_spans(t.trace_id) if pred(s)}]


def test_engine_pipeline_as_text(engine):
    result = engine.search('{ span.http.route = "/checkout" } >> { status = error } '
                           '| by(resource.service.name) | count() >= 1',
                           ds.WINDOW[0], ds.WINDOW[1], limit=20, spss=3)
    got = {(t.trace_id, ss.attributes["by(resource.service.name)"], ss.matched)
           for t in result.traces for ss in t.span_sets}
    want: dict = {}
    for s in SPANS:
        if s.status == ds.ERROR and any(a.attributes.get("http.route") == "/checkout"
                                        for a in ds.ancestors(s)):
            want[(s.trace, s.service)] = want.get((s.trace, s.service), 0) + 1
    assert got == {(t, svc, n) for (t, svc), n in want.items()}


def test_engine_refuses_metrics_in_search_and_search_in_metrics(engine):
    with pytest.raises(InvalidInput):
        engine.search("{ } | rate()", *ds.WINDOW)
    with pytest.raises(InvalidInput):
        engine.metrics_range("{ }", ds.WINDOW[0], ds.WINDOW[1], 60 * 10**9)


def test_engine_explain_shows_placeholders(engine):
    texts = engine.explain('{ span.user.tier = "free" } >> { status = error }', *ds.WINDOW)
    assert texts and all("free" not in t for t in texts)
    assert any("{ids:Array(String)}" in t for t in texts)


def test_cheap_conjuncts_go_to_prewhere(engine):
    """The benchmark's shape: service and duration pin the scan before any map is read."""
    texts = engine.explain('{ resource.service.name = "cart" && span.user.tier = "free" '
                           '&& duration > 500ms }', *ds.WINDOW)
    prewhere = texts[0].split("PREWHERE", 1)[1].split(" WHERE ", 1)[0]
    assert "ServiceName = {" in prewhere and "Duration > {" in prewhere
    assert "SpanAttributes" not in prewhere


def test_structural_reads_the_tree_from_the_span_graph(engine):
    texts = engine.explain('{ name = "a" } > { name = "b" }', *ds.WINDOW)
    assert any("span_graph" in t and "ParentHash" in t for t in texts)


def test_intrinsics_are_shown_for_every_span(engine):
    result = engine.search("{ kind = server } && { status = error }", *ds.WINDOW, spss=100)
    assert [s for s in SPANS if s.kind == ds.SERVER and s.status == ds.ERROR]
    shown = {s.span_id: s.attributes for t in result.traces for ss in t.span_sets
             for s in ss.spans}
    assert shown
    for span_id, attributes in shown.items():
        s = ds.BY_ID[span_id]
        # intrinsics are shown for every span of a spanset, as Tempo's
        assert attributes == {"kind": ds.KIND_NAMES[s.kind], "status": ds.STATUS_NAMES[s.status]}


def test_a_span_matching_two_filters_shows_the_attributes_of_both(engine):
    result = engine.search('{ span.http.route = "/checkout" } && { span.user.tier = "free" }',
                           *ds.WINDOW, spss=100)
    shown = {s.span_id: s.attributes for t in result.traces for ss in t.span_sets
             for s in ss.spans}
    want = {s.span_id: {"span.http.route": "/checkout", "span.user.tier": "free"}
            for s in SPANS if s.attributes.get("http.route") == "/checkout"
            and s.attributes.get("user.tier") == "free"}
    assert want and {k: shown[k] for k in want} == want


def test_durations_are_whole_nanoseconds(engine):
    result = engine.search("{ trace:id = \"%s\" } | select(duration, traceDuration)" % ds.SLOW,
                           *ds.WINDOW, spss=100)
    (trace,) = result.traces
    for span in trace.span_sets[0].spans:
        s = ds.BY_ID[span.span_id]
        assert span.attributes == {"duration": s.duration_ns,
                                   "traceDuration": ds.trace_duration_ns(ds.SLOW)}
        assert all(isinstance(v, int) for v in span.attributes.values())
