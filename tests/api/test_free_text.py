"""The one free-text policy (``spanhouse.api.freetext``), the same on every query API: what
``/api/v1`` accepts or refuses, Jaeger's ``/api/traces`` and api_v3 accept or refuse too."""

from __future__ import annotations

import warnings

import pytest
from starlette.applications import Starlette

from spanhouse.api import freetext, jaeger, jaeger_v3, v1
from spanhouse.api.jaeger_query import QueryParser
from tests.api.fake_query import FakeQuery
from tests.api.test_v1 import NOW
from tests.api.test_v1 import FakeQuery as V1FakeQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

V3_WINDOW = {"query.start_time_min": "2026-11-24T10:00:00Z",
             "query.start_time_max": "2026-11-24T11:00:00Z"}


class Apis:
    """The three APIs over fakes with no data, each asked for traces of one service."""

    def __init__(self):
        self.v1_query = V1FakeQuery(traces={}, summaries=[])
        self.jaeger_query = FakeQuery()
        self.http = TestClient(Starlette(routes=[
            *jaeger.routes(self.jaeger_query, QueryParser(now_ns=lambda: 10**18)),
            *jaeger_v3.routes(self.jaeger_query),
            *v1.routes(self.v1_query, clock=lambda: NOW)]))

    def ask(self, service: str) -> dict:
        """The status of each API's answer for ``service``."""
        return {
            "v1": self.http.get("/api/v1/slowest", params={"service": service}),
            "jaeger": self.http.get("/api/traces", params={"service": service}),
            "v3": self.http.get("/api/v3/trace-summaries",
                                params={**V3_WINDOW, "query.service_name": service}),
        }


@pytest.fixture
def apis() -> Apis:
    return Apis()


@pytest.mark.parametrize("service", ["O'Brien", 'say "hi"; DROP TABLE otel_traces --',
                                     "back\\slash", "x' OR '1'='1"])
def test_quotes_and_sql_are_accepted_everywhere(apis, service):
    answers = apis.ask(service)
    assert {api: r.status_code for api, r in answers.items()} == {
        "v1": 200, "jaeger": 200, "v3": 200}
    assert answers["v1"].json()["data"] == []
    assert answers["jaeger"].json()["data"] == [] and answers["jaeger"].json()["errors"] is None
    assert answers["v3"].json() == {"summaries": []}
    # the name reached each query untouched (bound there, never spliced into SQL)
    assert apis.v1_query.calls[-1][2]["service"] == service
    assert [c[1].service for c in apis.jaeger_query.calls] == [service, service]


@pytest.mark.parametrize("service,reason", [
    ("tab\there", "control character (U+0009)"),
    ("nul\x00", "NUL"),
    ("s" * (freetext.MAX_NAME + 1), f"longer than {freetext.MAX_NAME} characters"),
])
def test_the_same_names_are_refused_everywhere(apis, service, reason):
    answers = apis.ask(service)
    assert {api: r.status_code for api, r in answers.items()} == {
        "v1": 400, "jaeger": 400, "v3": 400}
    assert reason in answers["v1"].json()["error"]["message"]
    assert reason in answers["jaeger"].json()["errors"][0]["msg"]
    assert reason in answers["v3"].json()["error"]["message"]
    assert apis.v1_query.calls == [] and apis.jaeger_query.calls == []


def test_values_may_span_lines_but_keys_may_not(apis):
    """A tag value may be multi-line SQL; a key is a name (no control characters, not empty)."""
    statement = "SELECT *\n  FROM orders\n WHERE id = '42'"
    tags = '{"db.statement": "SELECT *\\n  FROM orders\\n WHERE id = \'42\'"}'
    assert apis.http.get("/api/traces", params={"service": "s", "tags": tags}).status_code == 200
    assert apis.jaeger_query.calls[-1][1].attributes[0].value == statement
    assert apis.http.get("/api/v1/slowest", params={"attr": f"db.statement={statement}"}
                         ).status_code == 200
    assert apis.v1_query.calls[-1][2]["attributes"][0].value == statement
    for key in ("", "db\nstatement"):
        assert apis.http.get("/api/traces", params={"service": "s", "tag": f"{key}:x"}
                             ).status_code == 400
        assert apis.http.get("/api/v1/slowest", params={"attr": f"{key}=x"}).status_code == 400


def test_policy_functions():
    assert freetext.check_name("O'Brien; --") == "O'Brien; --"
    assert freetext.check_value("a\nb\tc") == "a\nb\tc"
    with pytest.raises(ValueError, match="a tag key is empty"):
        freetext.check_key("", noun="tag key")
    with pytest.raises(ValueError, match="an attribute key is empty"):
        freetext.check_key("")
    with pytest.raises(ValueError, match=r"control character \(U\+007F\)"):
        freetext.check_name("del\x7f")
    with pytest.raises(ValueError, match="longer than"):
        freetext.check_value("v" * (freetext.MAX_VALUE + 1))
