"""``/api/v1/bottleneck`` (``spanhouse.api.v1_bottleneck``) over a chDB store holding the data
set of tests/analysis/test_bottleneck.py: JSON shapes, parameters and error mapping."""

from __future__ import annotations

import warnings

import pytest
from starlette.applications import Starlette

from spanhouse.api import v1, v1_bottleneck
from spanhouse.errors import StoreError
from spanhouse.query.model import rfc3339
from tests.analysis.test_bottleneck import HOUR, NOW, SEED, W0, chdb_store, dataset
from tests.api.test_v1 import FakeQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def app_for(store) -> Starlette:
    # the bottleneck routes go before v1's (its last route answers 404 for any /api/v1 path)
    return Starlette(routes=[*v1_bottleneck.routes(store, clock=lambda: NOW),
                             *v1.routes(FakeQuery(), clock=lambda: NOW)])


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    batch, _ = dataset()
    with chdb_store(tmp_path_factory, batch) as store:
        with TestClient(app_for(store)) as http:
            yield http


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    return body["error"]["message"]


# ------------------------------------------------------------------ one trace
def test_trace(client):
    response = client.get(f"/api/v1/bottleneck/{SEED}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == {"trace_id": SEED}
    data = body["data"]
    assert data["trace_id"] == SEED and data["duration_ms"] == 185.0
    assert data["bottleneck"]["operation"] == "SELECT products"
    assert data["bottleneck"]["share"] == 0.6486
    assert [h["service"] for h in data["path"]] == [
        "api-gateway", "auth-service", "product-service", "product-service", "product-service"]
    assert set(data) == {"trace_id", "root", "start", "duration_ms", "bottleneck", "path",
                         "critical_path", "async_paths", "spans"}


def test_trace_id_forms_and_errors(client):
    assert client.get(f"/api/v1/bottleneck/{SEED.upper()}").status_code == 200
    assert "not found" in error_of(client.get("/api/v1/bottleneck/" + "0" * 31 + "7"), 404)
    assert "hexadecimal" in error_of(client.get("/api/v1/bottleneck/xyz"), 400)
    assert "unknown parameter" in error_of(client.get(f"/api/v1/bottleneck/{SEED}?since=1h"), 400)


# ------------------------------------------------------------------ an endpoint
def test_endpoint(client):
    response = client.get("/api/v1/bottleneck", params={"endpoint": "api-gateway GET /checkout"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == {"start": rfc3339(W0), "end": rfc3339(W0 + HOUR), "since": "1h",
                             "service": "api-gateway", "operation": "GET /checkout",
                             "max_traces": 2000}
    data = body["data"]
    assert data["window"]["traces"] == 5 and data["previous_window"]["traces"] == 3
    assert [(r["service"], r["median_ms"], r["p95_ms"]) for r in data["operations"]] == [
        ("payment", 300.0, 880.0), ("api-gateway", 30.0, 48.0), ("inventory", 0.0, 40.0)]
    assert data["operations"][0]["change"] == {"median_ms": 200.0, "median_ratio": 2.0,
                                               "share": -0.0211}
    same = client.get("/api/v1/bottleneck", params={"service": "api-gateway",
                                                    "operation": "GET /checkout"}).json()
    assert same["data"] == data


def test_endpoint_window_and_cap(client):
    response = client.get("/api/v1/bottleneck", params={
        "endpoint": "api-gateway GET /checkout", "start": rfc3339(W0 + 12 * 60 * 10**9),
        "end": rfc3339(W0 + HOUR), "max_traces": "2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "since" not in body["query"] and body["query"]["max_traces"] == 2
    window = body["data"]["window"]
    assert (window["traces"], window["total_traces"], window["capped"]) == (2, 3, True)


@pytest.mark.parametrize("params, message", [
    ({}, "needs endpoint"),
    ({"endpoint": "api-gateway"}, "endpoint: expected"),
    ({"endpoint": "a b", "service": "a"}, "not both"),
    ({"service": "api-gateway"}, "needs endpoint"),
    ({"endpoint": "a b", "limit": "3"}, "unknown parameter 'limit'"),
    ({"endpoint": "a b", "since": "soon"}, "since"),
    ({"endpoint": "a b", "since": "1h", "start": "now"}, "either since or start"),
    ({"endpoint": "a b", "max_traces": "0"}, "max_traces"),
    ({"endpoint": "a b", "max_traces": "10001"}, "max_traces"),
    ({"service": "x\ny", "operation": "b"}, "control character"),
])
def test_endpoint_bad_parameters(client, params, message):
    assert message in error_of(client.get("/api/v1/bottleneck", params=params), 400)


def test_quotes_and_sql_in_names_are_plain_text(client):
    """Names are bound, never spliced into SQL (``spanhouse.api.freetext``): no such endpoint."""
    response = client.get("/api/v1/bottleneck", params={"service": "x'; DROP TABLE t; --",
                                                        "operation": "b"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["window"]["traces"] == 0
    assert response.json()["query"]["service"] == "x'; DROP TABLE t; --"


def test_repeated_parameter(client):
    response = client.get("/api/v1/bottleneck?endpoint=a%20b&endpoint=c%20d")
    assert "given 2 times" in error_of(response, 400)


def test_other_v1_paths_still_answer(client):
    assert "no endpoint" in error_of(client.get("/api/v1/nope"), 404)
    assert client.get("/api/v1/errors").status_code == 200


# ------------------------------------------------------------------ store failures
class BrokenStore:
    """An ``AnalysisReader`` whose every read fails."""

    def get_trace(self, trace_id):
        raise StoreError("reading trace failed: connection refused")

    def tables(self):
        raise StoreError("the store is down")

    def rows(self, sql, parameters, what):
        raise StoreError("the store is down")


def test_store_errors_are_503():
    with TestClient(app_for(BrokenStore())) as http:
        assert "connection refused" in error_of(http.get(f"/api/v1/bottleneck/{SEED}"), 503)
        assert "down" in error_of(http.get("/api/v1/bottleneck?endpoint=a%20b"), 503)
