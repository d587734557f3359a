"""The query commands against a real HTTP server: uvicorn on a free port serving ``/api/v1``
over a fake ``QueryAPI`` (the real store end to end is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from spanhouse.api import jaeger
from spanhouse.api.v1 import routes
from spanhouse.cli import main
from spanhouse.errors import StoreError
from spanhouse.query.model import AttributeFilter, SearchQuery, ServiceErrors, TopOperation
from spanhouse.timeparse import to_ns
from tests.http_server import serve_app
from tests.api.test_v1 import HOUR, NOW, NOW_NS, TRACE, FakeQuery, summary

UNREACHABLE = ('cannot reach the server at {url} (is "spanhouse serve" running? '
               "set --server or SPANHOUSE_SERVER)")


@pytest.fixture(autouse=True, scope="module")
def _forget_cached_help_options():
    """click caches a command's help option on first use, with the invoking context's
    ``-h/--help`` names; ``scripts/cli_reference.py`` (tests/test_docs.py) renders without that
    context, so leave no cache behind."""
    yield

    def walk(command):
        command._help_option = None
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(main)


@pytest.fixture(scope="module")
def server():
    fake = FakeQuery()
    # /api/v1 and Jaeger's /api/services (the CLI's "did you mean" asks it)
    app = Starlette(routes=routes(fake, clock=lambda: NOW) + jaeger.routes(fake))
    with serve_app(app) as url:
        yield url, fake


@pytest.fixture
def api(server):
    url, fake = server
    fake.calls.clear()
    fake.fail = None
    fake.summaries = [summary(), summary("0af7651916cd43dd8448eb211c80319c", 250.0, 0)]
    return url, fake


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env or {"SPANHOUSE_SERVER": ""},
                              catch_exceptions=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ slowest
def test_slowest_json_is_the_api_data(api):
    url, fake = api
    result = run("slowest", "--server", url, "--since", "30m", "--service", "checkout",
                 "--limit", "5", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == [s.to_json() for s in fake.summaries]
    for field in ("trace_id", "root_service", "root_operation", "start", "duration_ms",
                  "span_count", "error_count", "services"):
        assert field in data[0]
    assert fake.calls == [("slowest", (NOW_NS - HOUR // 2, NOW_NS), {
        "service": "checkout", "operation": None, "attributes": (), "limit": 5})]


def test_slowest_table(api):
    url, fake = api
    result = run("slowest", "--server", url, "--attr", "http.route=/pay", "--operation", "POST /pay")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Slowest traces" in out
    assert TRACE in out and "0af7651916cd43dd8448eb211c80319c" in out  # never truncated
    assert "frontend: GET /checkout" in out
    assert "1.23 s" in out and "250.0 ms" in out
    assert "checkout, frontend, payment" in out
    assert "spanhouse trace TRACE_ID" in out
    assert fake.calls[0][2]["attributes"] == (AttributeFilter("http.route", "/pay"),)
    assert fake.calls[0][2]["operation"] == "POST /pay"


def test_server_from_the_environment(api):
    url, fake = api
    result = run("slowest", "--json", env={"SPANHOUSE_SERVER": url})
    assert result.exit_code == 0, result.output
    assert fake.calls[0][1] == (NOW_NS - HOUR, NOW_NS)


def test_empty_results_say_so(api):
    url, fake = api
    fake.summaries = []
    result = run("slowest", "--server", url)
    assert result.exit_code == 0 and result.stdout.startswith("No traces ")
    assert json.loads(run("slowest", "--server", url, "--json").stdout) == []


# ------------------------------------------------------------------ errors, find, search
def _unsampled_errors(start_ns, end_ns):
    """Two services, every AdjustedCount 1 (so each estimate is its stored count)."""
    return [ServiceErrors(service="frontend", error_spans=9, error_traces=9, requests=300,
                          error_rate=0.03, estimated_error_spans=9.0, estimated_requests=300.0,
                          estimated_error_rate=0.03, estimated_error_requests=9.0,
                          origin_spans=0, role="propagates"),
            ServiceErrors(service="payment", error_spans=12, error_traces=9, requests=40,
                          error_rate=0.3, estimated_error_spans=12.0, estimated_requests=40.0,
                          estimated_error_rate=0.3, estimated_error_requests=12.0,
                          origin_spans=12, role="origin", top_messages=(("card declined", 10),),
                          top_operations=(("charge", 12),))]


def test_errors_table_and_json(api, monkeypatch):
    url, fake = api
    errors_by_service = fake.errors_by_service

    def recorded(start_ns, end_ns):
        errors_by_service(start_ns, end_ns)   # recorded as the fake records every call
        return _unsampled_errors(start_ns, end_ns)

    monkeypatch.setattr(fake, "errors_by_service", recorded)
    result = run("errors", "--server", url, "--since", "24h")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Errors by service" in out
    assert fake.calls[0] == ("errors_by_service", (NOW_NS - 24 * HOUR, NOW_NS), {})
    data = json.loads(run("errors", "--server", url, "--json").stdout)
    assert sorted(row["service"] for row in data) == ["frontend", "payment"]
    # the table keeps the API's order (where errors start first)
    lines = [line for line in out.splitlines() if "│ payment " in line or "│ frontend " in line]
    assert [("payment" if "payment" in line else "frontend") for line in lines] == \
        [row["service"] for row in data]
    pay = next(line for line in lines if "payment" in line)
    front = next(line for line in lines if "frontend" in line)
    assert "origin" in pay and "30.0%" in pay and "12/40" in pay   # 30% of 40 stored requests
    assert "card declined (est. 10, 10 stored)" in pay and "charge (est. 12, 12 stored)" in pay
    assert "propagates" in front and "3.0%" in front and "9/300" in front


def test_errors_under_sampling_show_the_estimates_first(api, monkeypatch):
    """payment keeps every error but 1 in 20 of its successes (AdjustedCount 20): 8 stored
    requests, 4 of them errors, stand for 4 + 4 * 20 = 84 requests."""
    url, fake = api
    errors, ok, weight = 4, 4, 20
    requests_est = errors + ok * weight
    monkeypatch.setattr(fake, "errors_by_service", lambda start_ns, end_ns: [ServiceErrors(
        service="payment-service", error_spans=errors, error_traces=errors,
        requests=errors + ok, error_rate=errors / (errors + ok),
        estimated_error_spans=float(errors), estimated_requests=float(requests_est),
        estimated_error_rate=errors / requests_est, estimated_error_requests=float(errors),
        origin_spans=errors, role="origin", top_messages=(("card declined", errors),),
        message_estimates=(float(errors),),
        operation_details=(TopOperation("POST", errors, float(errors), route="/charge"),))])
    result = run("errors", "--server", url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    header = next(line for line in out.splitlines() if "SERVICE" in line)
    assert header.index("EST. ERROR RATE") < header.index("EST. ERRORS") < \
        header.index("EST. REQUESTS") < header.index("STORED ERRORS/REQUESTS")
    row = next(line for line in out.splitlines() if "payment-service" in line)
    cells = [c.strip() for c in row.strip().strip("│").split("│")]
    assert cells[:6] == ["payment-service", "origin", f"{errors / requests_est:.1%}",
                         str(errors), str(requests_est), f"{errors}/{errors + ok}"]
    assert cells[6] == f"POST /charge (est. {errors}, {errors} stored)"
    assert "AdjustedCount" in out


def test_find(api):
    url, fake = api
    result = run("find", "user.id=u-42", "--at", "2026-11-24T10:31:00Z", "--window", "5m",
                 "--server", url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [summary().to_json()]
    at_ns = NOW_NS - 29 * 60 * 10**9
    assert fake.calls == [("find_by_attribute", ("user.id", "u-42", at_ns, 300 * 10**9), {"limit": 20})]
    table = run("find", "order.id=a=b", "--server", url)
    assert table.exit_code == 0 and "order.id=a=b within 15m" in table.stdout
    assert fake.calls[1][1][:2] == ("order.id", "a=b")


def test_find_clock_time_is_resolved_in_local_time(api):
    url, fake = api
    assert run("find", "user.id=7", "--at", "10:31", "--server", url).exit_code == 0
    expected = to_ns(dt.datetime.now().astimezone().replace(hour=10, minute=31, second=0, microsecond=0))
    assert fake.calls[0][1][2] == expected


@pytest.mark.parametrize("arg", ["user.id", "=42", "user.id="])
def test_find_needs_key_value(api, arg):
    url, fake = api
    result = run("find", arg, "--server", url)
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.stderr
    assert fake.calls == []


def test_search_passes_every_option(api):
    url, fake = api
    result = run("search", "--server", url, "--service", "checkout", "--operation", "POST /pay",
                 "--attr", "http.status_code=500", "--attr", "error.type", "--attr", "peer~pay.*",
                 "--status", "error", "--min-duration", "250ms", "--max-duration", "2s",
                 "--duration-level", "span", "--start", "2026-11-24T09:00:00Z",
                 "--end", "2026-11-24T10:00:00Z", "--limit", "50", "--sort", "slowest", "--json")
    assert result.exit_code == 0, result.output
    assert fake.calls == [("search", (SearchQuery(
        start_ns=NOW_NS - 2 * HOUR, end_ns=NOW_NS - HOUR, service="checkout",
        operation="POST /pay",
        attributes=(AttributeFilter("http.status_code", "500"),
                    AttributeFilter("error.type", "", "exists"),
                    AttributeFilter("peer", "pay.*", "regex")),
        status="error", span_min_duration_ns=250_000_000, span_max_duration_ns=2 * 10**9,
        limit=50, sort="slowest"),), {})]
    assert len(json.loads(result.stdout)) == 2


def test_search_table_and_relative_start(api):
    url, fake = api
    before = time.time_ns()
    result = run("search", "--server", url, "--start", "2h ago")
    assert result.exit_code == 0, result.output
    assert "recent first" in result.stdout and TRACE in result.stdout
    query = fake.calls[0][1][0]
    assert before - 2 * HOUR - 10**9 <= query.start_ns <= time.time_ns() - 2 * HOUR + 10**9
    assert query.end_ns >= before - 10**9


@pytest.mark.parametrize("command", ["search", "slowest"])
@pytest.mark.parametrize("typed,meant", [("pay", "payment"), ("chekout", "checkout"),
                                         ("FRONTEND", "frontend")])
def test_an_unknown_service_suggests_the_close_names(api, command, typed, meant):
    url, fake = api
    fake.summaries = []
    result = run(command, "--service", typed, "--server", url)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"spanhouse: no service {typed!r}; did you mean {meant}?\n"
    assert [call[0] for call in fake.calls][-1] == "services"


def test_an_unknown_service_without_close_names_lists_them(api):
    url, fake = api
    fake.summaries = []
    result = run("search", "--service", "zzz", "--server", url)
    assert result.exit_code == 1
    assert result.stderr == ("spanhouse: no service 'zzz'; the services are: checkout, "
                             "frontend, payment\n")


def test_a_known_service_with_no_traces_is_just_empty(api):
    url, fake = api
    fake.summaries = []
    result = run("search", "--service", "payment", "--server", url)
    assert result.exit_code == 0 and result.stdout.startswith("No matching traces ")
    fake.summaries = [summary()]
    fake.calls.clear()
    result = run("search", "--service", "pay", "--server", url)
    assert result.exit_code == 0 and TRACE in result.stdout
    assert "services" not in [call[0] for call in fake.calls]  # asked only when nothing matched


# ------------------------------------------------------------------ trace
def test_trace_waterfall(api):
    url, fake = api
    result = run("trace", TRACE, "--server", url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Trace {TRACE}")
    assert "4 spans · 3 services · 1.00 s" in lines[0] and "1 error" in lines[0]
    bar_start = lines[2].index("│") + 1
    assert lines[1].index("0") == bar_start and lines[1].rstrip().endswith("1.00 s")
    assert len(lines[1].rstrip()) == bar_start + 40
    body = lines[2:]
    assert len(body) == 4
    labels = [line.split("│")[0].rstrip() for line in body]
    assert labels == ["frontend GET /checkout", "  checkout POST /pay", "    payment charge ✗",
                      "  checkout SELECT orders"]
    bars = [line.split("│")[1] for line in body]
    assert all(len(bar) == 40 for bar in bars)
    assert bars[0] == "█" * 40
    assert bars[1] == " " * 4 + "█" * 24 + " " * 12
    assert bars[2] == " " * 12 + "█" * 8 + " " * 20
    assert bars[3] == " " * 32 + "█" * 4 + " " * 4
    assert body[0].split("│")[2].strip() == "1.00 s"
    assert "200.0 ms" in body[2] and "card declined" in body[2]
    assert "✗" not in body[1]
    assert fake.calls == [("get_trace", (TRACE,), {})]


def test_trace_json(api):
    url, fake = api
    result = run("trace", TRACE, "--server", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["trace_id"] == TRACE and len(data["spans"]) == 4
    assert data["spans"][0]["start"] == "2026-11-24T10:00:00.000000Z"


def test_trace_orphans_and_unknown_ids(api):
    url, fake = api
    fake.traces["00000000000000000000000000000abc"] = [
        s.__class__(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                       "trace_id": "00000000000000000000000000000abc"})
        for s in fake.traces[TRACE][1:3]]  # charge and POST /pay, without the root
    result = run("trace", "abc", "--server", url)
    assert result.exit_code == 0, result.output
    assert "checkout POST /pay (parent missing)" in result.stdout
    assert "  payment charge ✗" in result.stdout
    missing = run("trace", "ffff", "--server", url)
    assert missing.exit_code == 1
    assert missing.stderr == f"spanhouse: trace {'0' * 28}ffff not found\n"
    bad = run("trace", "not-a-trace", "--server", url)
    assert bad.exit_code == 2 and "not a trace id" in bad.stderr


# ------------------------------------------------------------------ failures
def test_server_not_running_is_one_line():
    url = f"http://127.0.0.1:{closed_port()}"
    for args in (["slowest"], ["errors", "--json"], ["find", "user.id=1"], ["search"],
                 ["trace", TRACE]):
        result = run(*args, "--server", url)
        assert result.exit_code == 1
        assert result.stderr == "spanhouse: " + UNREACHABLE.format(url=url) + "\n"
        assert result.stdout == ""


def test_default_server(monkeypatch):
    import spanhouse.cli.client as client

    assert client.DEFAULT_SERVER == "http://127.0.0.1:16686"  # DESIGN.md
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setattr(client, "DEFAULT_SERVER", url)
    result = run("slowest")
    assert result.exit_code == 1 and UNREACHABLE.format(url=url) in result.stderr


def test_api_400_is_its_message_and_exit_2(api):
    url, fake = api
    result = run("slowest", "--server", url, "--attr", "=v")
    assert result.exit_code == 2
    assert result.stderr.startswith("spanhouse: attr: an attribute key is empty")
    assert "Traceback" not in result.output and fake.calls == []


@pytest.mark.parametrize("args,needle", [
    (["slowest", "--since", "forever"], "--since: 'forever' is not a Go duration"),
    (["slowest", "--since", "1h", "--start", "10:00"], "either --since or --start"),
    (["errors", "--start", "noon"], "start: 'noon' is not an RFC 3339 time"),
    (["errors", "--start", "11:00", "--end", "10:00"], "start is after end"),
    (["find", "a=b", "--at", "soon"], "--at: 'soon'"),
    (["find", "a=b", "--window", "15"], "--window: '15'"),
    (["search", "--min-duration", "fast"], "--min-duration: 'fast'"),
])
def test_bad_flags_fail_before_calling_the_server(args, needle):
    url = f"http://127.0.0.1:{closed_port()}"
    result = run(*args, "--server", url)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("spanhouse: ") and needle in result.stderr


def test_click_usage_errors_exit_2():
    assert run("slowest", "--limit", "0").exit_code == 2
    assert run("search", "--sort", "random").exit_code == 2


def test_store_unavailable_is_exit_1(api):
    url, fake = api
    fake.fail = StoreError("ClickHouse is unreachable")
    result = run("errors", "--server", url)
    assert result.exit_code == 1 and result.stderr == "spanhouse: ClickHouse is unreachable\n"


def test_not_a_spanhouse_server(api):
    url, fake = api
    result = run("slowest", "--server", url + "/elsewhere")
    assert result.exit_code == 1
    assert "unexpected answer" in result.stderr and "HTTP 404" in result.stderr


def test_bad_server_url_is_exit_2():
    result = run("slowest", "--server", "localhost:16686")
    assert result.exit_code == 2 and "not an http(s) URL" in result.stderr
