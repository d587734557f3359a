"""The one error boundary (``spanhouse.api.boundary``): every query API takes its statuses from
``spanhouse.errors``' table and writes them in its own envelope; a bug is logged, never shown."""

from __future__ import annotations

import logging
import warnings

import pytest
from starlette.applications import Starlette

from spanhouse.api import jaeger, jaeger_v3, v1
from spanhouse.errors import TRANSLATIONS, InvalidInput, NotFound, Overloaded, StoreError
from tests.api.fake_query import FakeQuery
from tests.api.test_v1 import NOW
from tests.api.test_v1 import FakeQuery as V1FakeQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def answers(error: Exception) -> dict:
    """(status, body) of each API when its query raises ``error``."""
    v1_query = V1FakeQuery()
    v1_query.fail = error
    http = TestClient(Starlette(routes=[*jaeger.routes(FakeQuery(error=error)),
                                        *jaeger_v3.routes(FakeQuery(error=error)),
                                        *v1.routes(v1_query, clock=lambda: NOW)]))
    return {path: (r.status_code, r.json()) for path in ("/api/v1/errors", "/api/services",
                                                         "/api/v3/services")
            for r in [http.get(path)]}


@pytest.mark.parametrize("error", [InvalidInput("bad"), NotFound("gone"), StoreError("down"),
                                   Overloaded("busy")])
def test_typed_errors_take_the_status_of_the_table(error):
    status = TRANSLATIONS[type(error)].http_status
    message = str(error)
    assert answers(error) == {
        "/api/v1/errors": (status, {"error": {"status": status, "message": message}}),
        "/api/services": (status, {"data": None, "total": 0, "limit": 0, "offset": 0,
                                   "errors": [{"code": status, "msg": message}]}),
        "/api/v3/services": (status, {"error": {"httpCode": status, "message": message}}),
    }


def test_a_bug_is_logged_and_answered_500_without_its_text(caplog):
    with caplog.at_level(logging.ERROR, logger="spanhouse.api.boundary"):
        got = answers(ZeroDivisionError("secret dsn=clickhouse://u:p@h"))
    assert {path: status for path, (status, _) in got.items()} == dict.fromkeys(got, 500)
    assert "secret" not in repr(got)
    assert got["/api/services"][1]["errors"] == [{"code": 500, "msg": "internal error"}]
    failures = [r for r in caplog.records if r.exc_info]
    assert len(failures) == 3
    assert all(r.exc_info[0] is ZeroDivisionError for r in failures)
