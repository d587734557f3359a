"""``spanhouse demo`` end to end: the seed's shop runs, traced into the demo's own server, and
the answers it prints are the real ones, checked against the store it leaves behind.

Two runs: the default one (context dropped on api-gateway -> auth-service, queue messages
without headers) for ``--duration 20``, and a clean one (``--no-break-context
--no-break-queue``) stopped with SIGINT once its answers are printed. After each, no process
the demo started is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO, store_query

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="checks processes through /proc")

_CHILDREN = re.compile(r"demo pid=(\d+) children: (.*)$")


@dataclass
class DemoRun:
    data: Path
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def child_pids(self) -> dict[str, int]:
        for line in self.lines:
            match = _CHILDREN.search(line.strip())
            if match:
                return {name: int(pid) for name, pid in
                        (item.split("=") for item in match.group(2).split())}
        raise AssertionError("the demo printed no child pids:\n" + self.output)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"the demo never printed {text!r}:\n" + self.output)

    def finish(self, timeout: float) -> int:
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("the demo did not stop in time:\n" + self.output)
        time.sleep(0.2)  # the pump's last lines
        return self.returncode


def start_demo(data: Path, *flags: str) -> DemoRun:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spanhouse.cli", "demo", "--data", str(data), "--ui", "127.0.0.1:0",
         *flags],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"}, start_new_session=True)
    run = DemoRun(data, proc)

    def pump() -> None:
        for line in proc.stdout:
            run.lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return run


def alive_pids(pids) -> list[int]:
    """Of ``pids`` and the members of their process groups, those still running."""
    groups = set(pids)
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgid = fields[0], int(fields[2])
        if state != "Z" and (int(entry.name) in groups or pgid in groups):
            alive.append(int(entry.name))
    return alive


def store_doctor(data: Path) -> dict:
    """The trace doctor over the stopped demo's store, judging every span (settle 0): the
    analysis code itself, without the server's two-minute grace for recent spans."""
    script = (
        "import json, sys, time\n"
        "from spanhouse.analysis.doctor import DoctorOptions, run_doctor\n"
        "from spanhouse.analysis.store import AnalysisStore\n"
        "from spanhouse.store.connection import open_client\n"
        "from spanhouse.store.pool import Pool\n"
        "store = AnalysisStore(Pool(lambda: open_client('chdb://' + sys.argv[1], 'default'), 1),"
        " 'default', 'otel_traces')\n"
        "now = time.time_ns()\n"
        "report = run_doctor(store, now - 3600 * 10**9, now, DoctorOptions(settle_ns=0))\n"
        "print(json.dumps(report.to_json()))\n")
    out = subprocess.run([sys.executable, "-c", script, str(data.resolve())], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def section(output: str, number: str) -> str:
    """The text of the answer section that starts with ``number`` (e.g. "2.")."""
    start = output.index(f"\n{number} ")
    rest = output[start + 1:]
    following = re.search(r"\n(\d\. |The UI )", rest)
    return rest[:following.start()] if following else rest


def table_row(text: str, first_cell: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


# ---------------------------------------------------------------------------------- the runs
@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> DemoRun:
    """The default demo: both faults on, 20 seconds."""
    run = start_demo(tmp_path_factory.mktemp("broken") / "data", "--duration", "20")
    run.finish(timeout=90)
    return run


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> DemoRun:
    """Both faults off; runs until interrupted, and is interrupted once the answers are out."""
    run = start_demo(tmp_path_factory.mktemp("clean") / "data", "--no-break-context",
                     "--no-break-queue")
    run.wait_for("answers done", timeout=90)
    run.pids_before_interrupt = run.child_pids()
    assert not set(run.pids_before_interrupt.values()) - set(alive_pids(run.pids_before_interrupt.values())), \
        "a child died before the interrupt:\n" + run.output
    time.sleep(1)  # traffic goes on after the answers
    os.kill(run.proc.pid, signal.SIGINT)
    run.finish(timeout=60)
    return run


# ---------------------------------------------------------------------------------- processes
def test_demo_runs_for_its_duration_and_exits_zero_leaving_no_process(broken):
    assert broken.returncode == 0, broken.output
    pids = broken.child_pids()
    assert set(pids) == {"spanhouse-serve", "api-gateway", "auth-service", "product-service",
                         "order-service", "payment-service", "email-worker"}
    assert alive_pids(pids.values()) == []
    assert "demo stopped" in broken.output
    assert re.search(r"UI: http://127\.0\.0\.1:(\d+)", broken.output)


def test_the_ui_address_is_printed_as_soon_as_the_server_is_ready(broken):
    out = broken.output
    ready = re.search(r"Spanhouse UI: (http://127\.0\.0\.1:\d+) \(open it now\)", out)
    assert ready, out
    # before the traffic starts and long before the answers
    assert ready.start() < out.index("Customers (") < out.index("\n1. ")
    # the address the server bound: the one the answers end with
    assert f"UI: {ready.group(1)}   (a trace:" in out


def test_interrupt_stops_every_process(clean):
    assert clean.returncode == 0, clean.output
    assert "Stopping the demo" in clean.output
    assert alive_pids(clean.pids_before_interrupt.values()) == []


# ---------------------------------------------------------------------------------- answers
def test_bottleneck_of_the_slowest_product_page_is_the_db_query(broken):
    text = section(broken.output, "4.")
    trace_id = re.search(r"\$ spanhouse bottleneck ([0-9a-f]{32})", text).group(1)
    line = next(l for l in text.splitlines() if l.startswith("bottleneck:"))
    assert line.startswith("bottleneck: product-service → SELECT products (sqlite)"), line
    assert "This is your bottleneck" in text
    drawing = text.splitlines()
    caret = next(i for i, l in enumerate(drawing) if l.strip() == "^")
    assert drawing[caret - 2][drawing[caret].index("^")] != " "  # under a hop's name
    assert "SELECT products (sqlite)" in drawing[caret - 2]
    # the store agrees: the trace's longest span that calls nothing further is that query
    rows = store_query(broken.data,
                       "SELECT ServiceName, SpanName, SpanAttributes['db.system'], Duration "
                       f"FROM default.otel_traces WHERE TraceId = '{trace_id}' AND SpanId NOT IN "
                       f"(SELECT ParentSpanId FROM default.otel_traces WHERE TraceId = '{trace_id}') "
                       "ORDER BY Duration DESC LIMIT 2")
    assert rows[0][:3] == ["product-service", "SELECT products", "sqlite"]
    root = store_query(broken.data, "SELECT ServiceName, SpanName FROM default.otel_traces "
                                    f"WHERE TraceId = '{trace_id}' AND ParentSpanId = ''")
    assert root == [["api-gateway", "GET /products"]]


def test_errors_originate_in_the_payment_step(broken):
    text = section(broken.output, "2.")
    payment = table_row(text, "payment-service")
    assert "origin" in payment and any("card declined" in c for c in payment), payment
    for caller in ("order-service", "api-gateway"):
        assert "propagates" in table_row(text, caller)
    assert "Errors start in: payment-service (ROLE origin)" in text
    declined = store_query(broken.data,
                           "SELECT count() FROM default.otel_traces WHERE ServiceName = "
                           "'payment-service' AND StatusCode = 'Error' AND "
                           "StatusMessage = 'card declined: insufficient funds'")[0][0]
    assert int(declined) >= 1


def test_a_users_request_is_found_by_user_id_at_its_time(broken):
    text = section(broken.output, "3.")
    match = re.search(r'(user-\d+) reports: "my checkout failed at (\d\d:\d\d:\d\d)"', text)
    assert match, text
    user, hms = match.groups()
    assert f"$ spanhouse find user.id={user} --at {hms}" in text
    trace_ids = re.findall(r"│ ([0-9a-f]{32}) │", text)
    assert trace_ids, text
    rows = store_query(broken.data,
                       "SELECT TraceId, toUnixTimestamp64Nano(min(Timestamp)), countIf(StatusCode = 'Error') "
                       "FROM default.otel_traces WHERE SpanAttributes['user.id'] = "
                       f"'{user}' GROUP BY TraceId")
    found = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    assert set(trace_ids) <= set(found)
    reported = dt.datetime.combine(dt.date.today(), dt.time.fromisoformat(hms)).astimezone()
    nearest = min(trace_ids, key=lambda t: abs(found[t][0] / 1e9 - reported.timestamp()))
    assert abs(found[nearest][0] / 1e9 - reported.timestamp()) < 2  # the request at that time
    assert found[nearest][1] > 0                                    # and it is the failed one


def test_doctor_reports_the_dropped_context_and_the_queue_hop(broken):
    text = section(broken.output, "5.")
    assert "(async_hop_unlinked" in text and "email-worker" in text, text
    if "(context_not_propagated" not in text:
        # the server spares calls younger than two minutes; the demo says so
        assert "two minutes old" in text, text
    else:
        assert "api-gateway → auth-service" in text
    codes = {f["code"]: f for f in store_doctor(broken.data)["findings"]}
    assert "api-gateway → auth-service" in codes["context_not_propagated"]["services"]
    assert any("email-worker" in s for s in codes["async_hop_unlinked"]["services"])


def test_clean_run_has_neither_finding(clean):
    text = section(clean.output, "5.")
    assert "context_not_propagated" not in text and "async_hop_unlinked" not in text, text
    codes = {f["code"] for f in store_doctor(clean.data)["findings"]}
    assert not codes & {"context_not_propagated", "async_hop_unlinked"}, codes


def test_the_queue_hop_is_one_trace_when_headers_travel(clean):
    rows = store_query(clean.data, """
        SELECT c.TraceId, c.ParentSpanId, p.SpanId, p.SpanKind, p.ServiceName
        FROM (SELECT TraceId, ParentSpanId FROM default.otel_traces
              WHERE SpanKind = 'Consumer') AS c
        LEFT JOIN (SELECT TraceId, SpanId, SpanKind, ServiceName FROM default.otel_traces
                   WHERE SpanKind = 'Producer') AS p
          ON c.TraceId = p.TraceId AND c.ParentSpanId = p.SpanId""")
    assert rows, "no consumer span was stored"
    for trace_id, parent, producer, kind, service in rows:
        assert parent and producer == parent, (trace_id, parent, producer)
        assert (kind, service) == ("Producer", "order-service")
    # and the consumer span really is the email worker's, in the checkout's trace
    roots = store_query(clean.data, "SELECT DISTINCT r.SpanName FROM default.otel_traces AS r "
                        "WHERE r.ParentSpanId = '' AND r.TraceId IN (SELECT TraceId FROM "
                        "default.otel_traces WHERE SpanKind = 'Consumer')")
    assert roots == [["POST /checkout"]]
