"""``spanhouse bottleneck`` against a real HTTP server: uvicorn on a free port serving
``/api/v1/bottleneck`` over a chDB store holding tests/analysis/test_bottleneck.py's data set.
The command is registered on a group of its own (``register(group)``)."""

from __future__ import annotations

import json
import socket
from functools import partial

import click
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from spanhouse.api import v1_bottleneck
from spanhouse.cli import bottleneck as cli_bottleneck
from spanhouse.cli import render
from tests.http_server import serve_app
from tests.analysis.test_bottleneck import NOW, SEED, chdb_store, dataset


@click.group()
def main() -> None:
    """A stand-in for the ``spanhouse`` command."""


cli_bottleneck.register(main)

# The bottleneck's durations: the compact style of the CLI's one format_ms.
format_ms = partial(render.format_ms, compact=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    batch, _ = dataset()
    with chdb_store(tmp_path_factory, batch) as store:
        app = Starlette(routes=v1_bottleneck.routes(store, clock=lambda: NOW))
        with serve_app(app) as url:
            yield url


def run(*args):
    return CliRunner().invoke(main, list(args), env={"SPANHOUSE_SERVER": ""},
                              catch_exceptions=False)


def test_trace_picture(server):
    result = run("bottleneck", SEED, "--server", server)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Trace {SEED}  api-gateway GET /products · 185 ms · started ")
    assert lines[1] == ("api-gateway GET /products 5 ms → auth-service 12 ms → product-service "
                        "45 ms → SELECT products (sqlite) 120 ms → GET products:list (redis) 3 ms")
    assert lines[2] == ("bottleneck: product-service → SELECT products (sqlite) 120 ms, "
                        "65% of the request")


def test_trace_json(server):
    result = run("bottleneck", SEED.upper(), "--server", server, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["trace_id"] == SEED and data["bottleneck"]["span_id"] == "00000000000000p2"


def test_endpoint_table(server):
    result = run("bottleneck", "--endpoint", "api-gateway GET /checkout", "--since", "1h",
                 "--server", server)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Bottlenecks of api-gateway GET /checkout" in out and "5 traces" in out
    assert "(5 traces, median 330 ms)" in out
    rows = out.splitlines()
    pay = next(line for line in rows if "charge" in line)
    assert "300 ms" in pay and "880 ms" in pay and "91%" in pay and "+200 ms (+200%)" in pay
    inv = next(line for line in rows if "reserve" in line)
    assert "0 ms" in inv and "40 ms" in inv and "new" in inv
    order = [i for i, line in enumerate(out.splitlines())
             if "charge" in line or "reserve" in line]
    assert len(order) == 2 and order[0] < order[1]
    assert "3 traces" in out  # the previous window


def test_endpoint_json_and_cap(server):
    result = run("bottleneck", "--endpoint", "api-gateway GET /checkout", "--max-traces", "2",
                 "--server", server, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["window"]["capped"] is True and data["window"]["total_traces"] == 5
    table = run("bottleneck", "--endpoint", "api-gateway GET /checkout", "--max-traces", "2",
                "--server", server)
    assert "newest 2 of 5 traces" in table.stdout


def test_endpoint_without_traces(server):
    result = run("bottleneck", "--endpoint", "api-gateway GET /none", "--server", server)
    assert result.exit_code == 0 and result.stdout.startswith("No traces of api-gateway GET /none")


@pytest.mark.parametrize("args, message", [
    ((), "give a TRACE_ID or --endpoint"),
    ((SEED, "--endpoint", "a b"), "not both"),
    (("xyz",), "not a trace id"),
    ((SEED, "--since", "1h"), "go with --endpoint"),
    (("--endpoint", "api-gateway"), "--endpoint: expected"),
    (("--endpoint", "a b", "--since", "soon"), "--since"),
])
def test_bad_input_is_exit_2(server, args, message):
    result = run("bottleneck", *args, "--server", server)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_unknown_trace_is_exit_1(server):
    result = run("bottleneck", "0" * 31 + "7", "--server", server)
    assert result.exit_code == 1
    assert result.stderr == f"spanhouse: trace {'0' * 31}7 not found\n"


def test_server_not_running():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("bottleneck", SEED, "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1 and "cannot reach the server" in result.stderr


def test_format_ms():
    assert [format_ms(v) for v in (0, 0.85, 5, 2.5, 12, 120.4, 1250, 90_000)] == [
        "0 ms", "850 µs", "5 ms", "2.5 ms", "12 ms", "120 ms", "1.25 s", "1m 30.0s"]
