"""No query can starve the others: ``max_execution_time`` on every read (the store itself stops
the query; checked on embedded chDB) and a bounded number of concurrent queries with a slot kept
for lookups, over the real chDB store of tests/query (dataset.py). The query APIs answer both
with 503, a refusal with ``Retry-After``."""

from __future__ import annotations

import threading
import time
import warnings
from contextlib import ExitStack

import pytest
from starlette.applications import Starlette

from spanhouse.analysis.store import AnalysisStore
from spanhouse.api import jaeger, jaeger_v3, v1
from spanhouse.cli.client import error_for_status
from spanhouse.errors import (
    TRANSLATIONS, ConfigError, Overloaded, QueryBusy, QueryTimeout, StoreError, translate,
)
from spanhouse.query.model import AttributeFilter, SearchQuery
from spanhouse.query.service import QueryService
from spanhouse.store.connection import open_client
from spanhouse.store.pool import Pool

from tests.query.dataset import ERR1, WINDOW

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

HEAVY = "SELECT count() FROM numbers(1000000000000)"   # minutes of work without a limit
TABLE = "otel_traces"


@pytest.fixture
def make(loaded, client_factory):
    """``make(**kw)``: a QueryService over the dataset with its own small pool."""
    database = loaded[0]
    built = []

    def factory(pool_size: int = 2, **kw) -> QueryService:
        service = QueryService(Pool(client_factory, size=pool_size), database, TABLE, **kw)
        built.append(service)
        return service

    yield factory
    for service in built:
        service.close()


def elapsed(fn) -> tuple[float, BaseException | None]:
    start = time.monotonic()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


# ------------------------------------------------------------------ max_execution_time
def test_chdb_stops_a_heavy_query_at_the_clients_max_execution_time(query_store):
    client = open_client(query_store, "default", settings={"max_execution_time": 1})
    try:
        took, exc = elapsed(lambda: client.query(HEAVY))
        assert exc is not None and getattr(exc, "code", None) == 159, exc   # TIMEOUT_EXCEEDED
        assert 0.9 < took < 3
        assert client.query("SELECT 1").result_rows == [(1,)]   # the client is still usable
    finally:
        client.close()


def test_a_heavy_analysis_read_times_out_as_a_typed_error(make, loaded):
    service = make(query_timeout_s=1)
    store = AnalysisStore(None, loaded[0], TABLE, service)
    took, exc = elapsed(lambda: store.rows(HEAVY, {}, "heavy count"))
    assert isinstance(exc, QueryTimeout), exc
    assert 0.9 < took < 3
    assert str(exc).startswith("analysis: the query exceeded max_execution_time 1s")
    assert "narrow the time window" in str(exc)
    assert "numbers(" not in str(exc)          # no SQL in the answer
    assert translate(exc).http_status == 503
    # the same pooled clients keep answering
    assert "api-gateway" in service.services()
    assert service.get_trace(ERR1)


READS = {
    "get_trace": lambda s: s.get_trace(ERR1),
    "services": lambda s: s.services(),
    "operations": lambda s: s.operations("api-gateway"),
    "search": lambda s: s.search(SearchQuery(*WINDOW)),
    "find_traces": lambda s: s.find_traces(SearchQuery(*WINDOW)),
    "slowest": lambda s: s.slowest(*WINDOW),
    "errors_by_service": lambda s: s.errors_by_service(*WINDOW),
    "find_by_attribute": lambda s: s.find_by_attribute("user.id", "u-42", WINDOW[0], 10**12),
    "search_regex": lambda s: s.search(SearchQuery(*WINDOW, attributes=(
        AttributeFilter("user.id", "u-.*", "regex"),))),
    "dependencies": lambda s: s.dependencies(*WINDOW),
    "analysis_tables": lambda s: AnalysisStore(None, "", "", s).tables(),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_every_read_runs_under_max_execution_time(make, read):
    """A microsecond is less than any query takes: every read is stopped by the store, so
    every read carries the setting (and answers normally with the default 30 s)."""
    assert READS[read](make()) is not None
    _took, exc = elapsed(lambda: READS[read](make(query_timeout_s=0.000001)))
    assert isinstance(exc, QueryTimeout), exc
    assert "max_execution_time 0.000001s" in str(exc)


def test_a_store_user_who_may_not_change_settings_still_reads(loaded, client_factory, caplog):
    """A readonly user (readonly=1 refuses every SET): the queries run under the user's own
    profile limit, and the server says so once."""

    def readonly_client():
        client = client_factory()
        client.command("SET readonly = 1")
        return client

    service = QueryService(Pool(readonly_client, size=1), loaded[0], TABLE, query_timeout_s=5)
    try:
        with caplog.at_level("WARNING", logger="spanhouse.query.service"):
            assert "api-gateway" in service.services()
            assert service.get_trace(ERR1)
        refused = [r for r in caplog.records if "refuses max_execution_time" in r.getMessage()]
        assert len(refused) == 1
    finally:
        service.close()


# ------------------------------------------------------------------ concurrent queries
def test_searches_beyond_the_bound_are_refused_and_lookups_keep_their_slot(make):
    service = make(max_concurrent_queries=3, slot_wait_s=0.3)
    assert (service.max_concurrent_queries, service.slots.reserved) == (3, 1)
    with ExitStack() as held:
        held.enter_context(service.session())
        held.enter_context(service.session())          # both search slots taken
        took, exc = elapsed(lambda: service.search(SearchQuery(*WINDOW)))
        assert isinstance(exc, QueryBusy), exc
        assert 0.25 < took < 1.5
        assert exc.retry_after_s == 1
        assert "max_concurrent_queries 3" in str(exc)
        _took, exc = elapsed(lambda: AnalysisStore(None, "", "", service).tables())
        assert isinstance(exc, QueryBusy)                # analyses are searches
        # the reserved slot: a lookup answers at once
        took, exc = elapsed(lambda: service.services())
        assert exc is None and took < 1
        assert service.get_trace(ERR1)
        held.enter_context(service.slots.held(lookup=True))   # the last slot: a lookup running
        _took, exc = elapsed(lambda: service.get_trace(ERR1))
        assert isinstance(exc, QueryBusy), exc
    assert service.search(SearchQuery(*WINDOW))            # all released: answers again


def test_no_more_than_the_bound_run_at_once(make):
    service = make(max_concurrent_queries=3, slot_wait_s=10, max_waiting=10)   # 2 searches
    lock, running, peak, failed = threading.Lock(), [0], [0], []

    def analysis() -> None:
        try:
            with service.session() as (client, _tables):
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                client.query("SELECT sleep(0.2)")
                with lock:
                    running[0] -= 1
        except Exception as exc:  # noqa: BLE001 - checked below
            failed.append(exc)

    threads = [threading.Thread(target=analysis) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 2 and running[0] == 0 and failed == []


def test_no_more_than_max_waiting_wait(make):
    """A waiting read holds one of the API's threads: beyond ``max_waiting`` waiting reads, a
    read is refused at once rather than after ``slot_wait_s``."""
    service = make(max_concurrent_queries=2, slot_wait_s=5, max_waiting=1)   # 1 search
    waiter: list = []
    with service.session():
        worker = threading.Thread(target=lambda: waiter.append(
            service.search(SearchQuery(*WINDOW))))
        worker.start()
        deadline = time.monotonic() + 5
        while service.slots.waiting(lookup=False) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        took, exc = elapsed(lambda: service.search(SearchQuery(*WINDOW)))
        assert isinstance(exc, QueryBusy), exc
        assert took < 0.5                                # refused at once, not after 5 s
        assert service.services()                        # lookups wait apart (none waiting)
    worker.join(10)
    assert waiter and waiter[0]                          # the waiting one ran once released


def test_the_pool_grows_to_the_bound(make):
    service = make(pool_size=1, max_concurrent_queries=3)
    answers = []

    def three_at_once() -> None:
        with service.session(), service.session():
            answers.append(service.services())

    worker = threading.Thread(target=three_at_once)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "a query waited for a pooled client"
    assert answers and "api-gateway" in answers[0]


def test_the_default_bound_is_the_pool_size(make):
    assert make(pool_size=4).max_concurrent_queries == 4
    assert make(pool_size=1).slots.reserved == 0      # one query at a time: no reserve


@pytest.mark.parametrize("kw", [{"max_concurrent_queries": 0}, {"max_concurrent_queries": True},
                                {"max_concurrent_queries": 2.5}, {"query_timeout_s": -1},
                                {"query_timeout_s": float("nan")}, {"query_timeout_s": "30"},
                                {"max_concurrent_queries": 2, "reserved_for_lookups": 2}])
def test_bad_limits_are_config_errors(make, kw):
    with pytest.raises(ConfigError):
        make(**kw)


# ------------------------------------------------------------------ the answers
def test_the_translation_table():
    assert TRANSLATIONS[QueryBusy].http_status == 503     # queries: 503 + Retry-After
    assert TRANSLATIONS[Overloaded].http_status == 429    # the receivers keep 429
    assert translate(QueryTimeout("x")).http_status == 503
    assert error_for_status(503) is StoreError            # the CLI: one line, exit 1
    assert TRANSLATIONS[QueryBusy].exit_code == TRANSLATIONS[QueryTimeout].exit_code == 1


def _apis(service: QueryService) -> TestClient:
    return TestClient(Starlette(routes=[*jaeger.routes(service), *jaeger_v3.routes(service),
                                        *v1.routes(service)]))


def test_every_query_api_answers_busy_with_503_and_retry_after(make):
    service = make(max_concurrent_queries=2, slot_wait_s=0.1)
    http = _apis(service)
    with ExitStack() as held:
        for _ in range(2):
            held.enter_context(service.slots.held(lookup=True))
        answers = {path: http.get(path) for path in (
            "/api/services", "/api/v3/services", "/api/v1/search?since=1h",
            f"/api/v1/traces/{ERR1}", "/api/traces?service=api-gateway&lookback=1h")}
    for path, r in answers.items():
        assert r.status_code == 503, (path, r.text)
        assert r.headers["retry-after"] == "1", path
        assert "the server is busy" in r.text, path
    assert answers["/api/v1/search?since=1h"].json()["error"]["status"] == 503
    assert answers["/api/services"].json()["errors"][0]["code"] == 503
    assert answers["/api/v3/services"].json()["error"]["httpCode"] == 503
    assert http.get("/api/services").status_code == 200   # released: answered


def test_a_timed_out_query_answers_503_without_retry_after(make):
    http = _apis(make(query_timeout_s=0.000001))
    r = http.get("/api/v1/search?since=1h")
    assert r.status_code == 503
    assert "retry-after" not in r.headers
    assert "exceeded max_execution_time" in r.json()["error"]["message"]
