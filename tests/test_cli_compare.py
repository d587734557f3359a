"""``spanhouse compare`` against a real HTTP server: uvicorn on a free port serving
``/api/v1/compare`` over a fake compare function (the real store is tested in
tests/analysis/test_compare.py)."""

from __future__ import annotations

import json
import socket

import click
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from spanhouse.analysis.compare import parse_where
from spanhouse.api.v1_compare import routes
from spanhouse.cli.compare import register
from spanhouse.errors import StoreError
from tests.http_server import serve_app
from tests.api.test_v1_compare import HOUR, NOW, NOW_NS, STORE, FakeCompare, canned


@click.group()
def cli() -> None:
    """A stand-in for the ``spanhouse`` group."""


register(cli)


@pytest.fixture(scope="module")
def server():
    fake = FakeCompare()
    app = Starlette(routes=routes(STORE, clock=lambda: NOW, compare_fn=fake))
    with serve_app(app) as url:
        yield url, fake


@pytest.fixture
def api(server):
    url, fake = server
    fake.calls.clear()
    fake.fail = None
    fake.sampled = False
    fake.empty = False
    return url, fake


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env or {"SPANHOUSE_SERVER": ""},
                              catch_exceptions=False)


def test_json_is_the_api_data(api):
    url, fake = api
    result = run("compare", "--where", "duration>p95", "--since", "30m", "--service", "checkout",
                 "--limit", "5", "--json", "--server", url)
    assert result.exit_code == 0, result.output
    selection = parse_where("duration>p95")
    assert json.loads(result.stdout) == canned(selection, NOW_NS - HOUR // 2, NOW_NS,
                                               "checkout").to_json()
    _, got, start, end, kwargs, _ = fake.calls[0]
    assert (got, start, end) == (selection, NOW_NS - HOUR // 2, NOW_NS)
    assert kwargs == {"service": "checkout", "operation": None, "limit": 5}


def test_table(api):
    url, fake = api
    result = run("compare", "--where", "duration>p95", "--server", url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    header = out.splitlines()[0]
    assert header.startswith("Compared traces slower than p95 (812.3 ms): est. 1,040 traces "
                             "(52 stored), with the other est. 19,760 traces (988 stored), ")
    for column in ("ATTRIBUTE", "VALUE", "EST. % OF SELECTION", "EST. % OF BASELINE", "LIFT",
                   "STORED TRACES: SEL./BASE"):
        assert column in out
    statement = next(line for line in out.splitlines() if "db.statement" in line)
    assert "SELECT * FROM orders" in statement and "90.0%" in statement
    assert "5.0%" in statement and "18.0×" in statement
    tier = next(line for line in out.splitlines() if "user.tier" in line)
    assert "75.0%" in tier and "0.0%" in tier and "∞" in tier
    data = json.loads(run("compare", "--where", "duration>p95", "--json", "--server", url).stdout)
    for line, row in ((statement, data["attributes"][0]), (tier, data["attributes"][1])):
        assert f" {row['traces_selection']}/{row['traces_baseline']} " in line  # stored, last
    assert "sample" not in out
    assert fake.calls[0][4] == {"service": None, "operation": None, "limit": 10}


def test_sampled_groups_are_said(api):
    url, fake = api
    fake.sampled = True
    result = run("compare", "--where", "error", "--operation", "GET /pay", "--server", url)
    assert result.exit_code == 0, result.output
    assert "Compared traces with an error: est. 1,040 traces (60,000 stored)" in result.stdout
    assert "operation GET /pay" in result.stdout
    assert "deterministic sample of 20,000 + 988 traces" in result.stdout


def test_no_difference_is_said(api):
    url, fake = api
    fake.empty = True
    result = run("compare", "--where", "error", "--server", url)
    assert result.exit_code == 0, result.output
    assert "No attribute value is over-represented" in result.stdout
    assert "ATTRIBUTE" not in result.stdout
    assert json.loads(run("compare", "--where", "error", "--json", "--server", url).stdout)[
        "attributes"] == []


@pytest.mark.parametrize("where", ["duration>p42", "latency>1s", "errors", ""])
def test_bad_where_is_exit_2_before_any_request(api, where):
    url, fake = api
    result = run("compare", "--where", where, "--server", url)
    assert result.exit_code == 2
    assert "where" in result.stderr
    assert fake.calls == []


def test_where_is_required(api):
    url, _ = api
    result = run("compare", "--server", url)
    assert result.exit_code == 2 and "--where" in result.output


def test_store_failure_is_exit_1(api):
    url, fake = api
    fake.fail = StoreError("the store is down")
    result = run("compare", "--where", "error", "--server", url)
    assert result.exit_code == 1 and "the store is down" in result.stderr


def test_unreachable_server_is_exit_1(api):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("compare", "--where", "error", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1 and "cannot reach the server" in result.stderr


def test_merged_keys_and_identifiers(capsys):
    from dataclasses import replace

    from spanhouse.analysis.compare import AttributeDiff
    from spanhouse.cli.compare import print_compare

    result = canned(parse_where("error"), NOW_NS - HOUR, NOW_NS)
    method = AttributeDiff("http.method", "POST", 0.8, 0.2, 832.0, 3952.0, 41, 200, 4.0,
                           merged_keys=("http.method", "http.request.method"))
    host = AttributeDiff("host.name", "web-7", 0.5, 0.1, 520.0, 1976.0, 26, 99, 5.0,
                         signal="low")
    data = replace(result, attributes=(method, host)).to_json()
    print_compare(data, {"start": data["start"], "end": data["end"]})
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "POST" in line)
    assert "http.method / http.request.method" in row and " 41/200 " in row
    assert "Dimmed, last: identifiers" in out
    assert out.index("POST") < out.index("web-7")
