"""``spanhouse bottleneck`` against a real HTTP server: uvicorn on a free port serving
``/api/v1/bottleneck`` over a chDB store holding tests/analysis/test_bottleneck.py's data set.
The command is registered on a group of its own (``register(group)``)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
from functools import partial
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from spanhouse.api import v1_bottleneck
from spanhouse.cli import bottleneck as cli_bottleneck
from spanhouse.cli import render
from tests.http_server import serve_app
from tests.analysis.test_bottleneck import (CLIENT, FAST, NOW, SEED, SERVER, SLOW, WEIGHTED,
                                            Builder, chdb_store, dataset)


@click.group()
def main() -> None:
    """A stand-in for the ``spanhouse`` command."""


cli_bottleneck.register(main)

# The bottleneck's durations: the compact style of the CLI's one format_ms.
format_ms = partial(render.format_ms, compact=True)


README = Path(__file__).resolve().parent.parent / "README.md"
_UNITS_MS = {"ms": 1.0, "µs": 0.001, "s": 1000.0}


def readme_bottleneck_example() -> tuple[str, list[str]]:
    """README.md's ``$ spanhouse bottleneck ID`` example: the trace id and the printed lines."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```\n\$ spanhouse bottleneck ([0-9a-f]{32})\n(.*?)```", text, re.S)
    assert match, "README.md has no spanhouse bottleneck example"
    return match.group(1), match.group(2).splitlines()


def add_path_trace(b: Builder, trace: str, lines: list[str]) -> None:
    """A trace whose critical path is the example's hop list (its "a → b → c" line, a hop per
    span in call order), every span's time on the path its own time before its calls: the
    first hop is the root (``service operation``); a query (``operation (db)``) is a leaf under
    the service span above it; a service named again is a leaf span of that service (after
    the calls in between have returned); another service is a call: a span under the one above.
    """
    header = lines[0]
    root_service, root_operation = re.match(r"Trace \w+  (\S+) (.+?) · ", header).groups()
    started = re.search(r"started (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", header).group(1)
    t0 = int(dt.datetime.strptime(started, "%Y-%m-%d %H:%M:%S").astimezone().timestamp()) * 10**9
    path = next(line for line in lines if line.startswith(f"{root_service} {root_operation} "))
    spans: list[dict] = []
    calls: list[dict] = []      # the open service spans, the root first
    now_ms = 0.0

    def open_span(parent, service, name, ms, attributes=None) -> dict:
        span = {"id": f"{len(spans) + 1:016x}", "parent": parent["id"] if parent else "",
                "service": service, "name": name, "start": now_ms, "end": now_ms + ms,
                "attributes": attributes or {}}
        spans.append(span)
        return span

    for i, hop in enumerate(path.split(" → ")):
        label, amount, unit = re.match(r"(.+) ([\d.]+) (ms|µs|s)$", hop).groups()
        ms = float(amount) * _UNITS_MS[unit]
        query = re.fullmatch(r"(.+) \((\w+)\)", label)
        if i == 0:
            calls.append(open_span(None, root_service, root_operation, ms))
        elif query:
            open_span(calls[-1], calls[-1]["service"], query.group(1), ms,
                      {"db.system": query.group(2)})
        elif label in [c["service"] for c in calls]:
            while calls[-1]["service"] != label:
                calls.pop()["end"] = now_ms
            open_span(calls[-1], label, "cache get", ms)
        else:
            calls.append(open_span(calls[-1], label, "GET /products", ms))
        now_ms += ms
    for span in calls:
        span["end"] = now_ms
    for span in spans:
        b.span(trace, span["id"], span["parent"], span["service"], span["name"],
               CLIENT if span["attributes"] else SERVER, t0, span["start"], span["end"],
               span["attributes"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    batch, _ = dataset()
    readme = Builder()
    readme.batch = batch
    readme.scope = batch.add_scope("tests.readme", "1.0")
    trace_id, lines = readme_bottleneck_example()
    add_path_trace(readme, trace_id, lines)
    weights = list(batch.adjusted_count)  # the data set's weights; the example's spans: 1
    batch.adjusted_count = weights + [1.0] * (len(batch.trace_id) - len(weights))
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
    # the seed's drawing: each hop once, its time on the critical path centred under it, the
    # caret under the bottleneck (the seed's request: 5, 12, 45, 120 and 3 ms on the path)
    hops = [("api-gateway", "5 ms"), ("auth-service", "12 ms"), ("product-service", "45 ms"),
            ("SELECT products (sqlite)", "120 ms"), ("GET products:list (redis)", "3 ms")]
    assert lines[1] == ("api-gateway GET /products 5 ms → auth-service 12 ms → product-service "
                        "45 ms → SELECT products (sqlite) 120 ms → GET products:list (redis) 3 ms")
    names, times, caret, note = lines[3:7]
    assert lines[2] == "" and lines[7] == ""
    assert names == " → ".join(["User Request", *(h for h, _ in hops), "Response"])
    for hop, time_text in hops:
        left = names.index(hop)
        at = times.index(time_text, left - len(time_text))
        assert abs((at + len(time_text) / 2) - (left + len(hop) / 2)) <= 1, (hop, times)
    bottleneck_hop = "SELECT products (sqlite)"
    left = names.index(bottleneck_hop)
    assert caret.strip() == "^" and left <= caret.index("^") < left + len(bottleneck_hop)
    assert note.strip() == "This is your bottleneck"
    assert lines[8] == ("bottleneck: product-service → SELECT products (sqlite) 120 ms, "
                        "65% of the request")


def test_endpoint_figures_are_estimates_first_then_stored(server):
    """GET /weighted: two fast traces kept at 1 in 20 and three slow ones kept at 1 in 1."""
    result = run("bottleneck", "--endpoint", "api-gateway GET /weighted", "--since", "1h",
                 "--server", server)
    assert result.exit_code == 0, result.output
    out = result.stdout
    stored = len(WEIGHTED)
    estimated = sum(weight for _, weight in WEIGHTED)
    fast, slow = format_ms(sum(FAST[:2])), format_ms(sum(SLOW[:2]))
    # the weighted median is a fast request (40 of 43), the stored one a slow trace (3 of 5)
    assert f"est.: {estimated:.0f} requests, median {fast}, p95 {slow}, p99 {slow}" in out
    assert f"(stored: {stored} traces, median {slow})" in out
    assert out.index("est.:") < out.index("stored:")
    pay = next(line for line in out.splitlines() if "charge" in line)
    assert format_ms(FAST[1]) in pay                        # the estimated median
    assert f"{estimated:.0f}/{stored}" in pay               # on the path: est./stored
    assert "EST. MEDIAN" in out and "AdjustedCount" in out


def test_the_readme_example_is_what_the_command_prints(server):
    trace_id, lines = readme_bottleneck_example()
    result = run("bottleneck", trace_id, "--server", server)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == lines


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
    assert "Bottlenecks of api-gateway GET /checkout" in out
    # unsampled (every AdjustedCount 1): the estimates are the stored counts
    assert "est.: 5 requests, median 330 ms, p95 " in out
    assert "(stored: 5 traces, median 330 ms)" in out
    rows = out.splitlines()
    pay = next(line for line in rows if "charge" in line)
    assert "300 ms" in pay and "880 ms" in pay and "91%" in pay and "+200 ms (+200%)" in pay
    assert "5/5" in pay
    inv = next(line for line in rows if "reserve" in line)
    assert "0 ms" in inv and "40 ms" in inv and "new" in inv and "1/1" in inv
    order = [i for i, line in enumerate(out.splitlines())
             if "charge" in line or "reserve" in line]
    assert len(order) == 2 and order[0] < order[1]
    assert "(est. 3 requests, 3 stored traces)" in out  # the previous window


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
