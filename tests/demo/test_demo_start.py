"""``spanhouse demo`` start-up: a busy UI port (a local Jaeger on 16686 is common) is one line
on stderr naming the flag that changes it, exit non-zero, no traceback; and the UI's address
is printed as soon as the server is ready, before the traffic and the answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from spanhouse.demo.run import _start_up_failure
from tests.conftest import REPO


def _run_demo(*flags: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spanhouse.cli", "demo", *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def test_busy_ui_port_is_one_line_naming_the_flag(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = _run_demo("--duration", "5", "--data", str(tmp_path / "data"),
                        "--ui", f"127.0.0.1:{port}")
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("spanhouse: demo: ")
    assert f"port {port} is already in use" in lines[0]
    assert "--ui 127.0.0.1:" in lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    assert "Spanhouse UI" not in out.stdout


def test_a_server_that_fails_later_is_reported_by_its_own_line():
    # the log of a server that lost the race for its UI port (as spanhouse serve writes it)
    log = ("OTLP/gRPC   listening on 127.0.0.1:37807\n"
           "ERROR:    [Errno 98] error while attempting to bind on address "
           "('127.0.0.1', 36335): address already in use\n"
           "spanhouse: --ui 127.0.0.1:36335: cannot listen there (address in use?)\n"
           "Exception ignored in: <function Server.__del__ at 0x7f>\n"
           "Traceback (most recent call last):\n"
           "RuntimeError: Event loop is closed\n")
    message = _start_up_failure(log, "127.0.0.1:36335")
    assert "\n" not in message and "Traceback" not in message
    assert "port 36335 is already in use" in message and "--ui 127.0.0.1:16687" in message
    other = _start_up_failure(log.replace("--ui 127.0.0.1:36335: cannot listen there "
                                          "(address in use?)", "--config x.yaml:3: bad key"),
                              "127.0.0.1:36335")
    assert other == "spanhouse serve exited during start-up: --config x.yaml:3: bad key"
