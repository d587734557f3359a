"""``GET /api/v1/compare`` over a fake compare function (parameters, answers, errors); the
real store end to end is in tests/analysis/test_compare.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import warnings

import pytest
from starlette.applications import Starlette

from spanhouse.analysis.compare import (AttributeDiff, CompareResult, GroupStats, Selection,
                                        parse_where)
from spanhouse.api.v1_compare import PARAMETERS, routes
from spanhouse.errors import InvalidInput, StoreError
from spanhouse.query.model import rfc3339

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone.utc)
NOW_NS = 1795518000 * 10**9
HOUR = 3600 * 10**9
STORE = object()


def canned(selection: Selection, start_ns: int, end_ns: int, service=None, operation=None,
           sampled: bool = False) -> CompareResult:
    considered = 20_000 if sampled else 52
    return CompareResult(
        selection=selection, start_ns=start_ns, end_ns=end_ns, service=service,
        operation=operation, threshold_ns=812_300_000 if selection.kind != "error" else None,
        selected=GroupStats(52 if not sampled else 60_000, 1040.0, considered, 1040.0),
        baseline=GroupStats(988, 19_760.0, 988, 19_760.0),
        attributes=(
            AttributeDiff("db.statement", "SELECT * FROM orders", 0.9, 0.05, 936.0, 988.0,
                          47, 40, 18.0),
            AttributeDiff("user.tier", "free", 0.75, 0.0, 780.0, 0.0, 39, 0, None),
        ))


class FakeCompare:
    def __init__(self):
        self.calls: list = []
        self.fail: Exception | None = None
        self.sampled = False
        self.empty = False

    def __call__(self, store, selection, start_ns, end_ns, service=None, operation=None,
                 limit=10):
        self.calls.append((store, selection, start_ns, end_ns,
                           {"service": service, "operation": operation, "limit": limit},
                           threading.current_thread()))
        if self.fail:
            raise self.fail
        result = canned(selection, start_ns, end_ns, service, operation, self.sampled)
        return dataclasses.replace(result, attributes=()) if self.empty else result


@pytest.fixture
def fake() -> FakeCompare:
    return FakeCompare()


@pytest.fixture
def client(fake) -> TestClient:
    return TestClient(Starlette(routes=routes(STORE, clock=lambda: NOW, compare_fn=fake)))


def test_compare_answers_data_and_query(client, fake):
    r = client.get("/api/v1/compare", params={"where": "duration>p95", "since": "30m",
                                              "service": "checkout", "limit": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    selection = parse_where("duration>p95")
    assert body["data"] == canned(selection, NOW_NS - HOUR // 2, NOW_NS, "checkout").to_json()
    assert body["query"] == {"where": "duration>p95", "since": "30m",
                             "start": rfc3339(NOW_NS - HOUR // 2), "end": rfc3339(NOW_NS),
                             "service": "checkout", "operation": None, "limit": 5}
    store, got, start, end, kwargs, thread = fake.calls[0]
    assert (store, got, start, end) == (STORE, selection, NOW_NS - HOUR // 2, NOW_NS)
    assert kwargs == {"service": "checkout", "operation": None, "limit": 5}
    assert thread is not threading.main_thread()       # the store runs on the thread pool
    data = body["data"]
    assert data["selection"]["threshold_ms"] == 812.3 and data["selection"]["traces"] == 52
    assert data["attributes"][1]["lift"] is None
    assert set(data["attributes"][0]) == {
        "key", "value", "share_selection", "share_baseline", "difference", "lift",
        "count_selection", "count_baseline", "traces_selection", "traces_baseline",
        "kind", "signal", "merged_keys"}


def test_defaults_and_canonical_where(client, fake):
    r = client.get("/api/v1/compare", params={"where": " Duration > 1.5s "})
    assert r.status_code == 200, r.text
    assert r.json()["query"]["where"] == "duration>1.5s"
    assert r.json()["query"]["since"] == "1h" and r.json()["query"]["limit"] == 10
    _, selection, start, end, kwargs, _ = fake.calls[0]
    assert selection == Selection("duration", "duration>1.5s", threshold_ns=1_500_000_000)
    assert (start, end) == (NOW_NS - HOUR, NOW_NS) and kwargs["limit"] == 10


def test_start_end_window(client, fake):
    r = client.get("/api/v1/compare", params={"where": "error", "start": "2026-11-24T09:00:00Z",
                                              "end": "2026-11-24T10:00:00Z",
                                              "operation": "GET /pay"})
    assert r.status_code == 200, r.text
    assert fake.calls[0][2:4] == (NOW_NS - 2 * HOUR, NOW_NS - HOUR)
    assert "since" not in r.json()["query"] and r.json()["query"]["operation"] == "GET /pay"


@pytest.mark.parametrize("params, message", [
    ({}, "where: required"),
    ({"where": "duration>p96"}, "p96 is not offered"),
    ({"where": "latency>1s"}, "duration>p95"),
    ({"where": "duration>1s; DROP TABLE otel_traces"}, "duration>p95"),
    ({"where": "error", "limit": "0"}, "limit"),
    ({"where": "error", "limit": "1001"}, "limit"),
    ({"where": "error", "since": "1h", "start": "10:00"}, "either since or start"),
    ({"where": "error", "since": "an hour"}, "since"),
    ({"where": "error", "service": "a\x01b"}, "service: holds a control character"),
    ({"where": "error", "attr": "k=v"}, "unknown parameter 'attr'"),
])
def test_bad_parameters_are_400(client, fake, params, message):
    r = client.get("/api/v1/compare", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["status"] == 400 and message in r.json()["error"]["message"]
    assert fake.calls == []


def test_quotes_in_names_are_plain_text(client, fake):
    """Names are bound, never spliced into SQL (``spanhouse.api.freetext``)."""
    r = client.get("/api/v1/compare", params={"where": "error", "service": "a'b",
                                              "operation": "x; DROP TABLE t"})
    assert r.status_code == 200, r.text
    assert (r.json()["query"]["service"], r.json()["query"]["operation"]) == (
        "a'b", "x; DROP TABLE t")


def test_repeated_parameter_is_400(client, fake):
    r = client.get("/api/v1/compare?where=error&where=duration>p95")
    assert r.status_code == 400 and "given 2 times" in r.json()["error"]["message"]


def test_store_failure_is_503_and_a_bug_is_500(client, fake):
    fake.fail = StoreError("store down")
    r = client.get("/api/v1/compare", params={"where": "error"})
    assert r.status_code == 503 and r.json() == {"error": {"status": 503, "message": "store down"}}
    fake.fail = InvalidInput("bad window")
    assert client.get("/api/v1/compare", params={"where": "error"}).status_code == 400
    fake.fail = RuntimeError("boom")
    r = client.get("/api/v1/compare", params={"where": "error"})
    assert r.status_code == 500 and "boom" not in r.text


def test_parameters_are_the_accepted_ones():
    assert PARAMETERS == ("where", "since", "start", "end", "service", "operation", "limit")
