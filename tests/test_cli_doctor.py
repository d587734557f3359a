"""``spanhouse doctor`` against a real HTTP server: uvicorn on a free port serving
``/api/v1/doctor`` over a fake doctor (the real store is tested in
tests/analysis/test_doctor.py). The command is registered on a group of its own."""

from __future__ import annotations

import json
import socket

import click
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette

from spanhouse.api.v1_doctor import routes
from spanhouse.cli import doctor as cli_doctor
from spanhouse.errors import StoreError
from tests.http_server import serve_app
from tests.api.test_v1_doctor import (FINDING, HOUR, NOW, NOW_NS, TRACE, FakeDoctor, report,
                                      sampling)
from spanhouse.analysis.doctor import Finding


@click.group()
def main() -> None:
    """A stand-in for the ``spanhouse`` command."""


cli_doctor.register(main)

SKEW = Finding(code="clock_skew", title="Clock skew", severity="medium", count=3,
               services=("cart → stock",), examples=("0af7651916cd43dd8448eb211c80319c",),
               fix="Run NTP on their hosts.")


@pytest.fixture(scope="module")
def server():
    fake = FakeDoctor()
    app = Starlette(routes=routes("STORE", clock=lambda: NOW, runner=fake))
    with serve_app(app) as url:
        yield url, fake


@pytest.fixture
def api(server):
    url, fake = server
    fake.calls.clear()
    fake.fail = None
    fake.findings = (FINDING, SKEW)
    return url, fake


def run(*args):
    return CliRunner().invoke(main, list(args), env={"SPANHOUSE_SERVER": ""},
                              catch_exceptions=False)


def test_blocks_per_finding(api):
    url, fake = api
    result = run("doctor", "--server", url, "--since", "30m", "--key", "user.id",
                 "--key", "account.id")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Trace doctor" in out and "effective sampling rate 5.0%" in out
    assert "2 problems found" in out
    assert ("HIGH  Trace context is not propagated  (context_not_propagated, "
            f"est. {FINDING.estimated_count:,.0f}, stored {FINDING.count:,})") in out
    # a finding without an estimate (weight 1): the estimate is the stored count
    assert f"(clock_skew, est. {SKEW.count:,}, stored {SKEW.count:,})" in out
    assert "services:  checkout → payment" in out
    assert f"examples:  {TRACE}" in out
    assert "fix:       Propagate traceparent." in out
    assert "MEDIUM  Clock skew" in out and "cart → stock" in out
    assert out.index("HIGH") < out.index("MEDIUM")
    _, start, end, options = fake.calls[0]
    assert (start, end) == (NOW_NS - HOUR // 2, NOW_NS)
    assert options.business_keys == ("user.id", "account.id")


def test_sampling_figures_are_estimates_first_then_stored(api):
    url, fake = api
    result = run("doctor", "--server", url)
    assert result.exit_code == 0, result.output
    figures = sampling()    # what the fake doctor reports
    line = next(l for l in result.stdout.splitlines() if "effective sampling rate" in l)
    assert line.startswith(f"est. {figures.estimated_spans:,.0f} spans "
                           f"({figures.estimated_spans_per_second:,.1f}/s); stored "
                           f"{figures.spans:,} spans ({figures.spans_per_second:,.1f}/s, about ")
    assert line.endswith(f"effective sampling rate {figures.rate:.1%}")


def test_the_checked_windows_note_is_printed(capsys):
    data = report(NOW_NS - HOUR, NOW_NS, ()).to_json()
    note = "spans newer than 10:58:00 (the newest ~2 min) are not checked yet"
    data["checked_window"] = {"start": data["start"], "end": data["end"], "note": note}
    cli_doctor.print_report(data, {"start": data["start"], "end": data["end"]})
    out = capsys.readouterr().out
    assert note in out and out.index(note) < out.index("No problems found")


def test_no_problems(api):
    url, fake = api
    fake.findings = ()
    result = run("doctor", "--server", url)
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.stdout
    assert fake.calls[0][1:3] == (NOW_NS - HOUR, NOW_NS)


def test_json_is_the_api_data(api):
    url, fake = api
    result = run("doctor", "--server", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = report(NOW_NS - HOUR, NOW_NS, (FINDING, SKEW)).to_json()
    assert data == json.loads(json.dumps(expected))
    assert data["findings"][0]["services"] == ["checkout → payment"]


def test_errors_are_one_line(api):
    url, fake = api
    result = run("doctor", "--server", url, "--key", "user id")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--key" in result.stderr
    result = run("doctor", "--server", url, "--since", "soon")
    assert result.exit_code == 2 and "--since" in result.stderr
    fake.fail = StoreError("the store is unavailable")
    result = run("doctor", "--server", url)
    assert result.exit_code == 1
    assert result.stderr == "spanhouse: the store is unavailable\n"


def test_unreachable_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("doctor", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1 and "cannot reach the server" in result.stderr
