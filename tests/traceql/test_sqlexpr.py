"""sqlexpr: each TraceQL field expression, as SQL over the real chDB store, selects exactly the
spans the dataset's definition says (expectations are Python predicates over ``SPANS``)."""

from __future__ import annotations

import pytest

from spanhouse.errors import InvalidInput
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.sqlexpr import (
    Params, condition, label, numeric, trace_join, uses_trace_fields, value,
)

from tests.traceql import dataset as ds
from tests.traceql.dataset import SPANS

S, I, A, Op = ast.Static, ast.Intrinsic, ast.Attribute, ast.BinaryOperation
MS = ds.MS


def span(name):
    return A(ast.SPAN, name)


def res(name):
    return A(ast.RESOURCE, name)


def dur(ms):
    return S(ast.DURATION, ms * MS)


@pytest.fixture(scope="module")
def reader(make_store):
    _service, store = make_store(ds.batches(), "sqlexpr")
    return store


def matching(reader, expr) -> set[str]:
    params = Params()
    cond = condition(expr, params)
    tables = reader.tables()
    join = trace_join(tables) if uses_trace_fields(expr) else ""
    sql = (f"SELECT SpanId FROM {tables.traces} AS s{join} "
           f"WHERE {tables.fragments['window']} AND ({cond})")
    rows = reader.rows(sql, {**params.values, "start": ds.WINDOW[0], "end": ds.WINDOW[1]},
                       "sqlexpr test")
    return {r[0] for r in rows}


def ids(pred) -> set[str]:
    return {s.span_id for s in SPANS if pred(s)}


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


CASES = [
    ("name", Op("=", I("name"), S(ast.STRING, "charge")), lambda s: s.name == "charge"),
    ("name!=", Op("!=", I("name"), S(ast.STRING, "charge")), lambda s: s.name != "charge"),
    ("name regex", Op("=~", I("name"), S(ast.STRING, "GET .*")), lambda s: s.name.startswith("GET ")),
    ("regex is anchored", Op("=~", I("name"), S(ast.STRING, "GET")), lambda s: s.name == "GET"),
    ("name !~", Op("!~", I("name"), S(ast.STRING, ".*cart")), lambda s: not s.name.endswith("cart")),
    ("status error", Op("=", I("status"), S(ast.STATUS, "error")), lambda s: s.status == ds.ERROR),
    ("status ok", Op("=", I("status"), S(ast.STATUS, "ok")), lambda s: s.status == ds.OK),
    ("status unset", Op("=", I("status"), S(ast.STATUS, "unset")), lambda s: s.status == ds.UNSET),
    ("status != error", Op("!=", I("status"), S(ast.STATUS, "error")), lambda s: s.status != ds.ERROR),
    ("statusMessage", Op("=", I("statusMessage"), S(ast.STRING, "deadlock")),
     lambda s: s.message == "deadlock"),
    ("kind client", Op("=", I("kind"), S(ast.KIND, "client")), lambda s: s.kind == ds.CLIENT),
    ("kind consumer", Op("=", I("kind"), S(ast.KIND, "consumer")), lambda s: s.kind == ds.CONSUMER),
    ("kind != server", Op("!=", I("kind"), S(ast.KIND, "server")), lambda s: s.kind != ds.SERVER),
    ("duration >", Op(">", I("duration"), dur(500)), lambda s: s.duration_ns > 500 * MS),
    ("duration <=", Op("<=", I("duration"), dur(50)), lambda s: s.duration_ns <= 50 * MS),
    ("duration flipped", Op("<", dur(500), I("duration")), lambda s: s.duration_ns > 500 * MS),
    ("duration arithmetic", Op(">", Op("*", I("duration"), S(ast.INT, 2)), S(ast.DURATION, 1000 * MS)),
     lambda s: s.duration_ns * 2 > 1000 * MS),
    ("instrumentation:name", Op("=", I("instrumentation:name"), S(ast.STRING, "io.otel.flask")),
     lambda s: s.service == "frontend"),
    ("instrumentation:version", Op("=", I("instrumentation:version"), S(ast.STRING, "0.1")),
     lambda s: s.service != "frontend"),
    ("event:name", Op("=", I("event:name"), S(ast.STRING, "exception")),
     lambda s: "exception" in s.events),
    ("event:name regex", Op("=~", I("event:name"), S(ast.STRING, "cache.*")),
     lambda s: any(e.startswith("cache") for e in s.events)),
    ("link:traceID", Op("=", I("link:traceID"), S(ast.STRING, ds.CHECKOUT)),
     lambda s: any(t == ds.CHECKOUT for t, _ in s.links)),
    ("span:id", Op("=", I("span:id"), S(ast.STRING, ds.sid(ds.SLOW, "s2"))),
     lambda s: s.short == "s2"),
    ("trace:id", Op("=", I("trace:id"), S(ast.STRING, ds.BROWSE)), lambda s: s.trace == ds.BROWSE),
    ("parent = nil", Op("=", I("parent"), S(ast.NIL, None)), lambda s: s.parent is None),
    ("service.name", Op("=", res("service.name"), S(ast.STRING, "cart")), lambda s: s.service == "cart"),
    ("string attr", Op("=", span("http.route"), S(ast.STRING, "/checkout")),
     lambda s: s.attributes.get("http.route") == "/checkout"),
    ("int attr typed", Op("=", span("code"), S(ast.INT, 200)), lambda s: s.attributes.get("code") == 200),
    ("string attr typed", Op("=", span("code"), S(ast.STRING, "200")),
     lambda s: s.attributes.get("code") == "200"),
    ("int >=", Op(">=", span("http.status_code"), S(ast.INT, 400)),
     lambda s: _num(s.attributes.get("http.status_code")) and s.attributes["http.status_code"] >= 400),
    ("double >", Op(">", span("amount"), S(ast.FLOAT, 12.0)),
     lambda s: _num(s.attributes.get("amount")) and s.attributes["amount"] > 12.0),
    ("int vs float literal", Op("=", span("cart.items"), S(ast.FLOAT, 3.0)),
     lambda s: s.attributes.get("cart.items") == 3),
    ("!= skips missing", Op("!=", span("user.tier"), S(ast.STRING, "free")),
     lambda s: s.attributes.get("user.tier") not in (None, "free")),
    ("bool attr", Op("=", span("retry"), S(ast.BOOL, True)), lambda s: s.attributes.get("retry") is True),
    ("bool resource", Op("=", res("pci"), S(ast.BOOL, True)), lambda s: s.resource.get("pci") is True),
    ("resource int", Op(">", res("shard"), S(ast.INT, 2)), lambda s: s.resource.get("shard") == 3),
    ("!= nil", Op("!=", span("user.tier"), S(ast.NIL, None)), lambda s: "user.tier" in s.attributes),
    ("= nil", Op("=", span("user.tier"), S(ast.NIL, None)), lambda s: "user.tier" not in s.attributes),
    ("unscoped span", Op("=", A(ast.NONE, "http.route"), S(ast.STRING, "/browse")),
     lambda s: s.attr("http.route") == "/browse"),
    ("unscoped resource", Op("=", A(ast.NONE, "region"), S(ast.STRING, "eu")),
     lambda s: s.attr("region") == "eu"),
    ("unscoped span wins", Op("=", A(ast.NONE, "db.system"), S(ast.STRING, "postgresql")),
     lambda s: s.attr("db.system") == "postgresql"),
    ("unscoped nil", Op("!=", A(ast.NONE, "db.system"), S(ast.NIL, None)),
     lambda s: s.attr("db.system") is not None),
    ("and", Op("&&", Op("=", I("status"), S(ast.STATUS, "error")), Op("=", I("kind"), S(ast.KIND, "client"))),
     lambda s: s.status == ds.ERROR and s.kind == ds.CLIENT),
    ("or", Op("||", Op("=", I("name"), S(ast.STRING, "refund")), Op("=", I("name"), S(ast.STRING, "INSERT"))),
     lambda s: s.name in ("refund", "INSERT")),
    ("not", ast.UnaryOperation("!", Op("=", I("status"), S(ast.STATUS, "error"))),
     lambda s: s.status != ds.ERROR),
    ("attr arithmetic", Op(">", Op("+", span("amount"), S(ast.INT, 10)), S(ast.INT, 50)),
     lambda s: _num(s.attributes.get("amount")) and s.attributes["amount"] + 10 > 50),
    ("event attribute", Op("=", A(ast.EVENT, "exception.type"), S(ast.STRING, "CardError")),
     lambda s: "exception" in s.events),
    ("rootName", Op("=", I("rootName"), S(ast.STRING, "GET /checkout")),
     lambda s: (ds.root(s.trace) or s).name == "GET /checkout" and ds.root(s.trace) is not None),
    ("rootServiceName", Op("=", I("rootServiceName"), S(ast.STRING, "frontend")),
     lambda s: ds.root(s.trace) is not None and ds.root(s.trace).service == "frontend"),
    ("traceDuration", Op(">", I("traceDuration"), dur(700)),
     lambda s: ds.trace_duration_ns(s.trace) > 700 * MS),
    ("true", S(ast.BOOL, True), lambda s: True),
    ("everything", None, lambda s: True),
]


@pytest.mark.parametrize("expr, expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_condition_selects_the_expected_spans(reader, expr, expected):
    want = ids(expected)
    assert matching(reader, expr) == want


def test_values_are_bound_not_formatted():
    params = Params()
    sql = condition(Op("=", span("x'); DROP"), S(ast.STRING, "a' OR 1=1 --")), params)
    assert "DROP" not in sql and "OR 1=1" not in sql
    assert set(params.values.values()) == {"x'); DROP", "a' OR 1=1 --"}


@pytest.mark.parametrize("expr", [
    Op(">", I("status"), S(ast.STATUS, "error")),
    Op("=", I("status"), S(ast.STRING, "error")),
    Op("=", I("duration"), S(ast.STRING, "1s")),
    Op("=~", I("name"), S(ast.STRING, "a" * 2000)),
    Op("=", I("childCount"), S(ast.INT, 1)),
    Op("=", A(ast.SPAN, "x", parent=True), S(ast.INT, 1)),
    Op(">", span("x"), S(ast.NIL, None)),
    Op("=", I("parent"), S(ast.STRING, "x")),
])
def test_unsupported_expressions_are_invalid_input(expr):
    with pytest.raises(InvalidInput):
        condition(expr, Params())


def test_value_kinds_and_labels():
    assert value(I("duration"), Params())[1] == "number"
    assert value(span("http.route"), Params())[1] == "string"
    assert value(I("status"), Params())[1] == "string"
    assert "Nullable" in numeric(span("a"), Params()) or "NULL" in numeric(span("a"), Params())
    assert label(span("http.route")) == "span.http.route"
    assert label(A(ast.NONE, "foo")) == ".foo"
    assert label(res("service.name")) == "resource.service.name"
    assert label(I("event:name")) == "event:name"


def test_value_reads_typed_fields(reader):
    params = Params()
    fields = [value(I("status"), params)[0], value(I("kind"), params)[0],
              value(span("code"), params)[0], numeric(span("amount"), params)]
    tables = reader.tables()
    rows = reader.rows(f"SELECT SpanId, {', '.join(fields)} FROM {tables.traces}",
                       params.values, "value test")
    got = {r[0]: r[1:] for r in rows}
    for s in SPANS:
        code = s.attributes.get("code")
        amount = s.attributes.get("amount")
        assert got[s.span_id] == (ds.STATUS_NAMES[s.status], ds.KIND_NAMES[s.kind],
                                  None if code is None else str(code),
                                  None if amount is None else float(amount)), s.short
