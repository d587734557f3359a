"""``spanhouse q`` against a real HTTP server: uvicorn on a free port answering Tempo's shapes
(``tempopb.SearchResponse`` / ``QueryRangeResponse`` as jsonpb writes them, a plain-text 400
as Tempo's), recording what the CLI asked. The real ``spanhouse serve`` with spans from the
OTel SDK is the last test of this module."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from spanhouse.cli import main
from spanhouse.cli.render_traceql import any_value, bar_rows, columns, parse_series
from spanhouse.cli.traceql import metrics_function
from tests.http_server import serve_app
from tests.ui.traces import shop_served
from tests.test_cli_query import _forget_cached_help_options  # noqa: F401  (autouse: no cached help option left for test_docs)

BAD = "{ .a = }"
BAD_MESSAGE = 'line 1, col 8: expected a value after "="'
# Parses here, refused by the server (metrics over a structural operator): its message is shown.
REFUSED = "{ .a = 1 } >> { .b = 2 } | rate()"
REFUSED_MESSAGE = "invalid TraceQL query: metrics over the structural operator '>>' are not supported"
T0_NS = 1_764_000_000_000_000_000
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

SEARCH = {"traces": [{
    "traceID": TRACE_ID, "rootServiceName": "api-gateway", "rootTraceName": "POST /checkout",
    "startTimeUnixNano": str(T0_NS), "durationMs": 320,
    "spanSets": [{"matched": 5, "spans": [
        {"spanID": "00f067aa0ba902b7", "name": "charge_payment", "startTimeUnixNano": str(T0_NS + 2),
         "durationNanos": "300000000",
         "attributes": [{"key": "status", "value": {"stringValue": "error"}},
                        {"key": "span.http.status_code", "value": {"intValue": "502"}}]}]}]}],
    "metrics": {"inspectedTraces": 7, "inspectedBytes": "0"}}

STEP_MS = 60_000
SAMPLES_FROM_MS = (time.time_ns() // 10**6 // STEP_MS - 10) * STEP_MS   # inside the last hour


def series(service: str, values: list[float]) -> dict:
    return {"labels": [{"key": "resource.service.name", "value": {"stringValue": service}}],
            "samples": [{"timestampMs": str(SAMPLES_FROM_MS + i * STEP_MS), "value": v}
                        for i, v in enumerate(values)]}


QUERY_RANGE = {"series": [series("checkout", [0.5, 1.5, 2.5, 0.25]), series("payment", [4.0])],
               "metrics": {"inspectedSpans": "12"}}


@pytest.fixture(scope="module")
def tempo():
    """A server answering as Spanhouse's /tempo routes and /api/v1/traceql/explain do."""
    calls: list[tuple[str, dict]] = []

    def answer(body):
        async def endpoint(request):
            calls.append((request.url.path, dict(request.query_params)))
            if request.query_params.get("q") == BAD:
                return PlainTextResponse(BAD_MESSAGE + "\n", status_code=400)
            if request.query_params.get("q") == REFUSED:
                return PlainTextResponse(REFUSED_MESSAGE + "\n", status_code=400)
            # as spanhouse/api/tempo says what metrics values are (the body is Tempo's)
            aware = "false" if "no_weights" in request.query_params.get("q", "") else "true"
            sampling = {"X-Spanhouse-Sampling-Aware": aware,
                        "X-Spanhouse-Estimate": "stored spans: no AdjustedCount column"}
            sampling = sampling if "series" in body else {}
            return JSONResponse(body, headers=sampling)
        return endpoint

    explain = {"data": {"sql": ["SELECT TraceId FROM otel_traces WHERE Duration > {d0:Int64}",
                                "SELECT 1"]}, "query": {}}
    app = Starlette(routes=[Route("/tempo/api/search", answer(SEARCH)),
                            Route("/tempo/api/metrics/query_range", answer(QUERY_RANGE)),
                            Route("/api/v1/traceql/explain", answer(explain))])
    with serve_app(app) as url:
        yield url, calls


@pytest.fixture
def api(tempo):
    tempo[1].clear()
    return tempo


def run(*args):
    return CliRunner().invoke(main, ["q", *args], env={"SPANHOUSE_SERVER": ""},
                              catch_exceptions=False)


# ------------------------------------------------------------------ spanset queries
def test_spanset_query_asks_search_and_prints_traces_with_their_matched_spans(api):
    url, calls = api
    before = time.time()
    result = run("{ status = error }", "--server", url, "--since", "30m", "--limit", "5",
                 "--spss", "2")
    assert result.exit_code == 0, result.output
    path, params = calls[-1]
    assert path == "/tempo/api/search"
    assert params["q"] == "{ status = error }"
    assert (params["limit"], params["spss"]) == ("5", "2")
    # Tempo's start/end are Unix seconds: a 30-minute window ending now
    assert int(params["end"]) - int(params["start"]) in (1800, 1801)
    assert before - 2 <= int(params["end"]) <= time.time() + 2
    out = result.stdout
    for expected in (TRACE_ID, "api-gateway: POST /checkout", "charge_payment", "300.0 ms",
                     "status=error", "span.http.status_code=502", "320.0 ms"):
        assert expected in out, (expected, out)
    assert "4 more (raise --spss)" in out      # 5 matched, 1 shown


def test_json_prints_the_servers_answer_as_is(api):
    url, _ = api
    result = run("{ status = error }", "--server", url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == SEARCH


def test_start_and_end_are_sent_as_unix_seconds(api):
    url, calls = api
    result = run("{ }", "--server", url, "--start", "2026-11-24T10:00:00Z",
                 "--end", "2026-11-24T10:30:00.5Z")
    assert result.exit_code == 0, result.output
    params = calls[-1][1]
    assert params["start"] == "1795514400"
    assert params["end"] == "1795516201"          # widened to the whole second


# ------------------------------------------------------------------ metrics queries
def test_metrics_query_asks_query_range_and_draws_a_chart_per_series(api):
    url, calls = api
    query = "{ status = error } | rate() by (resource.service.name)"
    result = run(query, "--server", url, "--step", "1m")
    assert result.exit_code == 0, result.output
    path, params = calls[-1]
    assert path == "/tempo/api/metrics/query_range"
    assert (params["q"], params["step"]) == (query, "1m")
    out = result.stdout
    assert '{resource.service.name="checkout"}' in out
    assert '{resource.service.name="payment"}' in out
    assert "█" in out                                   # the bars are drawn
    assert "last 0.25 at" in out and "max 2.5" in out   # checkout's last and top samples
    assert "last 4 at" in out                           # payment's only sample
    assert "sampling-aware estimates" in out


def test_quantiles_of_duration_print_as_durations_and_min_max_say_unweighted(api):
    url, _ = api
    result = run("{ } | quantile_over_time(duration, .9)", "--server", url)
    assert result.exit_code == 0, result.output
    assert "max 2.50 s" in result.stdout and "last 250.0 ms" in result.stdout
    result = run("{ } | max_over_time(duration)", "--server", url)
    assert "not weighted" in result.stdout and "sampling-aware" not in result.stdout


def test_values_of_a_table_without_adjusted_counts_say_so(api):
    url, _ = api
    result = run("{ .no_weights = true } | rate()", "--server", url)
    assert result.exit_code == 0, result.output
    assert "Stored spans: no AdjustedCount column." in result.stdout
    assert "sampling-aware" not in result.stdout


def test_metrics_detection_ignores_pipes_inside_strings():
    assert metrics_function('{ name = "| rate()" }') is None
    assert metrics_function("{ } | count_over_time() by (name)") == ("count_over_time", False)
    assert metrics_function("{ } | avg_over_time(duration)") == ("avg_over_time", True)


# ------------------------------------------------------------------ explain
def test_explain_prints_the_sql_statements(api):
    url, calls = api
    result = run("{ duration > 1s }", "--server", url, "--explain")
    assert result.exit_code == 0, result.output
    assert calls[-1][0] == "/api/v1/traceql/explain"
    assert "-- statement 1 of 2" in result.stdout
    assert "Duration > {d0:Int64}" in result.stdout
    assert "SELECT 1" in result.stdout


# ------------------------------------------------------------------ errors
def test_a_bad_query_is_the_servers_one_line_message_and_exit_2(api):
    url, _ = api
    # a query that parses here and that the server refuses: the server's message, one line
    result = CliRunner().invoke(main, ["q", REFUSED, "--server", url], env={"SPANHOUSE_SERVER": ""})
    assert result.exit_code == 2
    assert result.stderr.strip() == f"spanhouse: {REFUSED_MESSAGE}"
    assert "Traceback" not in result.output


def test_a_query_that_does_not_parse_fails_here_with_its_column(api):
    url, calls = api
    result = CliRunner().invoke(main, ["q", "{ .a = }", "--server", url])
    assert result.exit_code == 2
    assert re.match(r"spanhouse: line 1, col \d+: ", result.stderr), result.stderr
    assert calls == []                        # no request for a query that cannot run


def test_flags_that_do_not_fit_the_query_fail_before_any_request(api):
    url, calls = api
    for args in (["{ }", "--step", "1m"], ["{ } | rate()", "--limit", "3"],
                 ["{ } | rate()", "--step", "soon"], ["{ }", "--since", "1h", "--start", "10:00"],
                 ["  "]):
        result = CliRunner().invoke(main, ["q", *args, "--server", url],
                                    env={"SPANHOUSE_SERVER": ""})
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("spanhouse: ") and result.stderr.count("\n") == 1
    assert calls == []


def test_an_unreachable_server_is_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(main, ["q", "{ }", "--server", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert "cannot reach the server" in result.stderr


def test_a_server_without_the_tempo_api_is_named():
    with serve_app(Starlette(routes=[])) as url:
        result = CliRunner().invoke(main, ["q", "{ }", "--server", url])
    assert result.exit_code == 1
    assert "no Tempo API under /tempo" in result.stderr


# ------------------------------------------------------------------ the drawing
def test_bars_scale_to_the_largest_value_and_leave_gaps_blank():
    rows = bar_rows([4.0, 2.0, None, 0.0, 0.01], height=2)
    assert rows == ["█    ", "██  ▁"]
    placed = columns([(0, 1.0), (10, 3.0), (12, 5.0), (100, 6.0), (101, 9.0)], 0, 100, width=10)
    assert placed[0] == 1.0 and placed[1] == 4.0 and placed[9] == 6.0   # 101: outside
    assert placed[5] is None


def test_nan_samples_are_no_value_not_zero():
    body = {"series": [{"labels": [], "samples": [{"timestampMs": "2000", "value": "NaN"},
                                                  {"timestampMs": "1000", "value": 1.5},
                                                  {"timestampMs": "3000"}]}]}
    assert parse_series(body) == [([], [(1000, 1.5), (3000, 0.0)])]   # jsonpb omits a 0


def test_any_value_reads_otlp_json_values():
    assert any_value({"intValue": "502"}) == 502
    assert any_value({"doubleValue": 0.5}) == 0.5
    assert any_value({"boolValue": False}) is False
    assert any_value({"arrayValue": {"values": [{"stringValue": "a"}]}}) == ["a"]


# ------------------------------------------------------------------ a real server
@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A real ``spanhouse serve`` holding the UI tests' shop, sent by the OTel SDK."""
    def send(shop) -> dict:
        return {"seed": shop.seed_trace(2),
                "errors": [shop.failed_checkout(10 + i, ms) for i, ms in enumerate([300, 320])]}

    with shop_served(tmp_path_factory.mktemp("q") / "data", send) as served:
        yield served


def test_against_a_real_server_spansets_metrics_and_explain(shop):
    server, sent, ids = shop
    query = '{ resource.service.name = "payment" && status = error }'
    result = run(query, "--server", server.ui_url, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["traces"]
    assert sorted(t["traceID"] for t in found) == sorted(ids["errors"])
    assert all(t["rootServiceName"] == "api-gateway" for t in found)
    table = run(query, "--server", server.ui_url).stdout
    assert all(trace_id in table for trace_id in ids["errors"]) and "charge_payment" in table

    failed = sum(1 for info in sent.sent.values() if info["kind"] == "error")
    metrics = "{ status = error } | count_over_time() by (resource.service.name)"
    answer = json.loads(run(metrics, "--server", server.ui_url, "--json").stdout)
    totals = {label["value"]["stringValue"]: sum(s["value"] for s in series["samples"])
              for series in answer["series"] for label in series["labels"]}
    assert totals == {service: pytest.approx(failed)
                      for service in ("api-gateway", "checkout", "payment")}
    chart = run(metrics, "--server", server.ui_url, "--step", "1m")
    assert chart.exit_code == 0, chart.output
    assert '{resource.service.name="payment"}' in chart.stdout and "█" in chart.stdout
    assert "sampling-aware estimates" in chart.stdout

    explained = run(query, "--server", server.ui_url, "--explain")
    assert explained.exit_code == 0, explained.output
    assert "otel_traces" in explained.stdout and "payment" not in explained.stdout  # bound

    bad = CliRunner().invoke(main, ["q", "{ .a = }", "--server", server.ui_url])
    assert bad.exit_code == 2 and bad.stderr.startswith("spanhouse: ")
    assert bad.stderr.count("\n") == 1
    # parses, but the server refuses it (its 400's plain text, in one line)
    refused = CliRunner().invoke(main, ["q", "{ .a = 1 } >> { .b = 2 } | rate()",
                                        "--server", server.ui_url])
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith("spanhouse: ") and refused.stderr.count("\n") == 1
    assert "structural operator '>>'" in refused.stderr


def test_the_docs_cli_examples_run(shop):
    """Every ``spanhouse q`` line of docs/traceql.md's ```sh blocks runs (exit 0)."""
    import shlex
    from pathlib import Path

    server = shop[0]
    text = (Path(__file__).resolve().parent.parent / "docs" / "traceql.md").read_text()
    commands = [shlex.split(line, comments=True)
                for block in re.findall(r"```sh\n(.*?)```", text, re.S)
                for line in block.splitlines() if line.startswith("spanhouse q ")]
    assert len(commands) >= 5
    for words in commands:
        result = CliRunner().invoke(main, words[1:] + ["--server", server.ui_url])
        assert result.exit_code == 0, (words, result.output)
