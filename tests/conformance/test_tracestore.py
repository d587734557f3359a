"""The store conformance suite (as Jaeger's ``internal/storage/integration``): the fixture
traces are written through a ``Writer`` and every case of ``fixtures/queries.json`` runs
through a ``Reader`` (``spanhouse.store.tracestore``), on:

- the embedded chDB store, with Spanhouse's schema additions (the usual store);
- the same store read from the traces table alone (``use_additions=False``: the code path of
  a table created by the collector's ClickHouse exporter), which must give the same answers;
- a ClickHouse server when ``CLICKHOUSE_URL`` is set (``http://user:password@host:8123``), in
  a database of its own that is dropped afterwards.

Fixtures (``fixtures/README.md`` describes the data set):

- ``fixtures/traces/<name>.json``: one trace per file, as an OTLP/JSON export request, decoded
  with Spanhouse's own OTLP/JSON decoder; ``<name>`` is how the cases refer to the trace.
- ``fixtures/queries.json``: a list of cases ``{"caption", "call", "query", "expected"}`` (or
  ``"error"``: the name of the ``spanhouse.errors`` class the call raises). ``call`` is a
  ``Reader`` method; ``query`` holds its parameters, times as RFC 3339 and durations as Go
  durations (``400ms``). ``expected`` is, per call: trace names in result order (``search``,
  ``slowest``, ``find_by_attribute``, ``find_traces``; an item may be an object with the trace's
  name under ``trace`` and summary fields to check too), span names in order (``get_trace``),
  service names (``services``), ``[name, kind]`` pairs (``operations``), ``[parent, child,
  calls, errors]`` rows (``dependencies``), or objects holding the fields of each
  ``ServiceErrors`` to check (``errors_by_service``). Every trace that a trace or span result
  names is also compared, span by span, with its fixture.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from spanhouse import errors
from spanhouse.gotime import parse_duration_ns, parse_rfc3339
from spanhouse.model.otlp_json import decode_json_bytes
from spanhouse.model.span import records_from_batch
from spanhouse.query.model import AttributeFilter, SearchQuery
from spanhouse.query.service import QueryService
from spanhouse.store.connection import open_client
from spanhouse.store.pool import Pool
from spanhouse.store.schema import create_schema, quote_identifier
from spanhouse.store.tracestore import Reader, Writer
from spanhouse.store.writer import TraceWriter

from tests.chdb_dir import open_keeper

FIXTURES = Path(__file__).parent / "fixtures"
TABLE = "otel_traces"
SERVER_URL = os.environ.get("CLICKHOUSE_URL", "")
NO_SERVER = "set CLICKHOUSE_URL=http://host:8123 to run against a ClickHouse server"


def _load_traces() -> dict:
    traces = {}
    for path in sorted((FIXTURES / "traces").glob("*.json")):
        result = decode_json_bytes(path.read_bytes())
        assert result.rejected == 0, f"{path.name}: {result.error_message}"
        assert len(set(result.batch.trace_id)) == 1, f"{path.name} must hold one trace"
        traces[path.stem] = result.batch
    return traces


TRACES = _load_traces()
NAME_OF = {batch.trace_id[0]: name for name, batch in TRACES.items()}
CASES = json.loads((FIXTURES / "queries.json").read_text(encoding="utf-8"))

# The parameters each call takes (a misspelt one fails the case instead of being ignored).
SEARCH_PARAMS = {"start", "end", "service", "operation", "attributes", "status",
                 "span_min_duration", "span_max_duration", "trace_min_duration",
                 "trace_max_duration", "limit", "sort"}
PARAMS = {
    "services": set(), "operations": {"service", "span_kind"}, "get_trace": {"trace_id"},
    "search": SEARCH_PARAMS, "find_traces": SEARCH_PARAMS,
    "slowest": {"start", "end", "service", "operation", "attributes", "limit"},
    "find_by_attribute": {"key", "value", "at", "window", "limit"},
    "errors_by_service": {"start", "end"}, "dependencies": {"start", "end"},
}


# ------------------------------------------------------------------------------ stores
def _write_fixtures(writer) -> None:
    assert isinstance(writer, Writer)
    for batch in TRACES.values():
        assert writer.write(batch) == len(batch)


def _reader(endpoint: str, database: str, use_additions: bool = True) -> QueryService:
    return QueryService(Pool(lambda: open_client(endpoint, database), size=2), database, TABLE,
                        use_additions=use_additions)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """(endpoint, database) of an embedded store holding the fixtures."""
    endpoint, keeper = open_keeper(tmp_path_factory, "chdb-conformance")
    database = f"conformance_{uuid.uuid4().hex[:12]}"
    create_schema(keeper, database, TABLE)
    writer = TraceWriter(open_client(endpoint, database), database, TABLE)
    _write_fixtures(writer)
    writer.close()
    yield endpoint, database
    keeper.close()


@pytest.fixture(scope="module")
def server():
    """(endpoint, database) of a fresh database holding the fixtures on ``CLICKHOUSE_URL``."""
    if not SERVER_URL:
        pytest.skip(NO_SERVER)
    database = f"spanhouse_conformance_{uuid.uuid4().hex[:12]}"
    admin = open_client(SERVER_URL, database)
    try:
        create_schema(admin, database, TABLE)
        writer = TraceWriter(open_client(SERVER_URL, database), database, TABLE)
        _write_fixtures(writer)
        writer.close()
        yield SERVER_URL, database
    finally:
        admin.command(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
        admin.close()


@pytest.fixture(scope="module", params=["chdb", "chdb-traces-table-only", "clickhouse-server"])
def reader(request):
    if request.param == "clickhouse-server":
        endpoint, database = request.getfixturevalue("server")
    else:
        endpoint, database = request.getfixturevalue("embedded")
    service = _reader(endpoint, database, use_additions=request.param != "chdb-traces-table-only")
    assert isinstance(service, Reader)
    yield service
    service.close()


# ------------------------------------------------------------------------------ a case
def _duration(text: str | None) -> int | None:
    return None if text is None else parse_duration_ns(text)


def _search_query(q: dict) -> SearchQuery:
    return SearchQuery(
        start_ns=parse_rfc3339(q["start"]), end_ns=parse_rfc3339(q["end"]),
        service=q.get("service"), operation=q.get("operation"),
        attributes=_attributes(q), status=q.get("status"),
        span_min_duration_ns=_duration(q.get("span_min_duration")),
        span_max_duration_ns=_duration(q.get("span_max_duration")),
        trace_min_duration_ns=_duration(q.get("trace_min_duration")),
        trace_max_duration_ns=_duration(q.get("trace_max_duration")),
        limit=q.get("limit", 20), sort=q.get("sort", "recent"))


def _attributes(q: dict) -> tuple[AttributeFilter, ...]:
    return tuple(AttributeFilter(a["key"], a.get("value", ""), a.get("op", "eq"))
                 for a in q.get("attributes", ()))


def _call(reader, call: str, q: dict):
    if call in ("search", "find_traces"):
        return getattr(reader, call)(_search_query(q))
    if call == "slowest":
        return reader.slowest(parse_rfc3339(q["start"]), parse_rfc3339(q["end"]),
                              q.get("service"), q.get("operation"), _attributes(q),
                              q.get("limit", 20))
    if call == "find_by_attribute":
        return reader.find_by_attribute(q["key"], q["value"], parse_rfc3339(q["at"]),
                                        parse_duration_ns(q["window"]), q.get("limit", 20))
    if call in ("errors_by_service", "dependencies"):
        return getattr(reader, call)(parse_rfc3339(q["start"]), parse_rfc3339(q["end"]))
    if call == "operations":
        return reader.operations(q.get("service"), q.get("span_kind"))
    if call == "get_trace":
        return reader.get_trace(q["trace_id"])
    return reader.services()


def _fixture_spans(trace_id: str) -> list:
    """The fixture's spans of ``trace_id`` as ``get_trace`` must return them."""
    return sorted(records_from_batch(TRACES[NAME_OF[trace_id]]),
                  key=lambda r: (r.start_ns, r.span_id))


def _check_summaries(got, expected) -> None:
    assert [NAME_OF[s.trace_id] for s in got] == [
        e if isinstance(e, str) else e["trace"] for e in expected]
    for summary, e in zip(got, expected):
        if isinstance(e, str):
            continue
        for field, want in e.items():
            if field == "start":
                assert summary.start_ns == parse_rfc3339(want), e["trace"]
            elif field == "duration":
                assert summary.duration_ns == parse_duration_ns(want), e["trace"]
            elif field == "services":
                assert list(summary.services) == want, e["trace"]
            elif field != "trace":
                assert getattr(summary, field) == want, (e["trace"], field)


def _check_errors(got, expected) -> None:
    assert [e.service for e in got] == [e["service"] for e in expected]
    for entry, want in zip(got, expected):
        for field, value in want.items():
            if field == "error_rate":
                assert entry.error_rate == pytest.approx(value), entry.service
            elif field in ("top_messages", "top_operations"):
                assert [list(t) for t in getattr(entry, field)] == value, (entry.service, field)
            else:
                assert getattr(entry, field) == value, (entry.service, field)


def _check(call: str, got, expected) -> None:
    if call in ("search", "slowest", "find_by_attribute"):
        _check_summaries(got, expected)
    elif call == "find_traces":
        assert [NAME_OF[trace[0].trace_id] for trace in got] == expected
        for trace in got:
            assert trace == _fixture_spans(trace[0].trace_id)
    elif call == "get_trace":
        assert [span.name for span in got] == expected
        if got:
            assert got == _fixture_spans(got[0].trace_id)
    elif call == "operations":
        assert [[o.name, o.span_kind] for o in got] == expected
    elif call == "errors_by_service":
        _check_errors(got, expected)
    elif call == "dependencies":
        assert [[d.parent, d.child, d.call_count, d.error_count] for d in got] == expected
    else:
        assert got == expected


@pytest.mark.parametrize("case", CASES, ids=[case["caption"] for case in CASES])
def test_reader_answers_the_case(reader, case):
    check_case(reader, case)


def check_case(reader, case: dict) -> None:
    """Run one conformance case on ``reader``: its error, or its expected answer."""
    call, q = case["call"], case["query"]
    if "error" in case:
        with pytest.raises(getattr(errors, case["error"])):
            _call(reader, call, q)
    else:
        _check(call, _call(reader, call, q), case["expected"])


# ------------------------------------------------------------------------------ the fixtures
def test_the_cases_are_well_formed():
    captions = [case["caption"] for case in CASES]
    assert len(set(captions)) == len(captions), "captions name the cases: keep them unique"
    for case in CASES:
        assert case["call"] in PARAMS and hasattr(Reader, case["call"]), case["caption"]
        assert set(case["query"]) <= PARAMS[case["call"]], case["caption"]
        assert ("expected" in case) != ("error" in case), case["caption"]
        if case["call"] in ("search", "slowest", "find_by_attribute", "find_traces"):
            for item in case.get("expected", ()):
                assert (item if isinstance(item, str) else item["trace"]) in TRACES, case["caption"]


def test_every_reader_method_has_a_case():
    methods = {name for name in dir(Reader) if not name.startswith("_")}
    assert set(PARAMS) == methods
    assert {case["call"] for case in CASES} == methods
