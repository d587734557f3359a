"""``GET /api/v1/doctor`` over a fake doctor (parameters, JSON shape, error mapping); the real
store end to end is tested in tests/analysis/test_doctor.py."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from spanhouse.analysis.doctor import (DEFAULT_BUSINESS_KEYS, DoctorOptions, DoctorReport,
                                       Finding, SamplingSummary)
from spanhouse.api.v1_doctor import routes
from spanhouse.errors import InvalidInput, StoreError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone.utc)
NOW_NS = 1795518000 * 10**9
HOUR = 3600 * 10**9
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def sampling(spans: int = 10) -> SamplingSummary:
    return SamplingSummary(spans=spans, estimated_spans=spans * 20.0, rate=0.05,
                           spans_per_second=spans / 3600, estimated_spans_per_second=spans / 180,
                           bytes_per_span=120.0, bytes_per_day=spans / 3600 * 86400 * 120.0,
                           error_spans=0, sampled_error_traces=0)


def report(start_ns: int, end_ns: int, findings=()) -> DoctorReport:
    return DoctorReport(start_ns=start_ns, end_ns=end_ns, findings=tuple(findings),
                        sampling=sampling(), business_keys=DEFAULT_BUSINESS_KEYS, elapsed_ms=12.0)


FINDING = Finding(code="context_not_propagated", title="Trace context is not propagated",
                  severity="high", count=12, estimated_count=240.0,   # 12 calls kept at 5%
                  services=("checkout → payment",),
                  examples=(TRACE,), fix="Propagate traceparent.",
                  details=(("broken_calls", [{"caller": "checkout", "callee": "payment"}]),))


class FakeDoctor:
    def __init__(self):
        self.calls: list[tuple] = []
        self.fail: Exception | None = None
        self.findings = (FINDING,)

    def __call__(self, store, start_ns, end_ns, options: DoctorOptions):
        self.calls.append((store, start_ns, end_ns, options))
        if self.fail:
            raise self.fail
        return report(start_ns, end_ns, self.findings)


@pytest.fixture
def fake():
    return FakeDoctor()


@pytest.fixture
def client(fake):
    app = Starlette(routes=routes("STORE", clock=lambda: NOW, runner=fake))
    return TestClient(app)


def test_default_window_and_keys(client, fake):
    r = client.get("/api/v1/doctor")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == {"start": "2026-11-24T10:00:00.000000Z",
                             "end": "2026-11-24T11:00:00.000000Z", "since": "1h",
                             "key": list(DEFAULT_BUSINESS_KEYS)}
    store, start, end, options = fake.calls[0]
    assert (store, start, end) == ("STORE", NOW_NS - HOUR, NOW_NS)
    assert options.business_keys == DEFAULT_BUSINESS_KEYS
    data = body["data"]
    assert data["findings"] == [FINDING.to_json()]
    assert data["findings"][0] == {
        "code": "context_not_propagated", "title": "Trace context is not propagated",
        "severity": "high", "estimated_count": 240.0, "count": 12,
        "services": ["checkout → payment"],
        "examples": [TRACE], "fix": "Propagate traceparent.",
        "details": {"broken_calls": [{"caller": "checkout", "callee": "payment"}]}}
    assert data["sampling"]["rate"] == 0.05 and data["sampling"]["bytes_per_span"] == 120.0
    assert data["business_keys"] == list(DEFAULT_BUSINESS_KEYS)


def test_since_start_end_and_repeated_keys(client, fake):
    r = client.get("/api/v1/doctor", params=[("since", "30m"), ("key", "user.id"),
                                             ("key", "account.id"), ("key", "user.id")])
    assert r.status_code == 200, r.text
    assert r.json()["query"]["key"] == ["user.id", "account.id"]
    assert fake.calls[0][1:3] == (NOW_NS - HOUR // 2, NOW_NS)
    assert fake.calls[0][3].business_keys == ("user.id", "account.id")
    r = client.get("/api/v1/doctor", params={"start": "2026-11-24T09:00:00Z",
                                             "end": "2026-11-24T09:30:00Z"})
    assert r.status_code == 200
    assert fake.calls[1][1:3] == (NOW_NS - 2 * HOUR, NOW_NS - 3 * HOUR // 2)
    assert "since" not in r.json()["query"]


@pytest.mark.parametrize("params, message", [
    ({"limit": "5"}, "unknown parameter 'limit'"),
    ([("since", "1h"), ("since", "2h")], "since: given 2 times"),
    ({"since": "soon"}, "since"),
    ({"since": "1h", "start": "10:00"}, "either since or start"),
    ({"key": ""}, "key: an attribute key is empty"),
    ({"key": "user\tid"}, "key: holds a control character"),
])
def test_bad_parameters(client, fake, params, message):
    r = client.get("/api/v1/doctor", params=params)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["status"] == 400 and message in error["message"]
    assert fake.calls == []


def test_errors_are_mapped(client, fake):
    fake.fail = StoreError("store down")
    r = client.get("/api/v1/doctor")
    assert r.status_code == 503 and r.json() == {"error": {"status": 503, "message": "store down"}}
    fake.fail = InvalidInput("bad option")
    assert client.get("/api/v1/doctor").status_code == 400
    fake.fail = RuntimeError("boom")
    r = client.get("/api/v1/doctor")
    assert r.status_code == 500 and "boom" not in r.text


def test_clean_report(client, fake):
    fake.findings = ()
    r = client.get("/api/v1/doctor")
    assert r.status_code == 200 and r.json()["data"]["findings"] == []


def test_settle_is_passed_to_the_doctor():
    from spanhouse.api import v1_doctor
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    seen = {}

    def runner(store, start, end, options):
        seen["settle"] = options.settle_ns
        return FakeReport()

    class FakeReport:
        def to_json(self):
            return {"findings": []}

    app = Starlette(routes=v1_doctor.routes("STORE", runner=runner))
    with TestClient(app) as client:
        assert client.get("/api/v1/doctor?settle=0s").json()["query"]["settle"] == "0s"
        assert seen["settle"] == 0
        assert client.get("/api/v1/doctor?settle=soon").status_code == 400
