"""Grafana Tempo's API on its own port, end to end: a real ``spanhouse serve --tempo
127.0.0.1:0``, spans sent by the OpenTelemetry SDK's OTLP/gRPC exporter, read back through
``/api/search?q=``, ``/api/v2/search/tags`` and ``/api/v2/traces/{id}`` on the Tempo port."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import REPO
from tests.security.conftest import make_pki, start

_TEMPO_LINE = re.compile(r"^Tempo API\s+listening on (\S+):(\d+)")


def _tempo_url(server, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(server.output):
            match = _TEMPO_LINE.match(line)
            if match:
                return f"http://127.0.0.1:{match.group(2)}"
        time.sleep(0.1)
    raise AssertionError("no 'Tempo API listening on' line:\n" + "".join(server.output))


def _send(endpoint: str) -> tuple[str, str]:
    """A checkout whose payment fails: (trace id, the failing span's id)."""
    providers = {}
    for name in ("shop-frontend", "shop-payment"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
            schedule_delay_millis=50))
        providers[name] = provider
    front = providers["shop-frontend"].get_tracer("e2e")
    pay = providers["shop-payment"].get_tracer("e2e")
    with front.start_as_current_span("POST /checkout", kind=SpanKind.SERVER,
                                     attributes={"http.route": "/checkout",
                                                 "user.tier": "gold"}) as root:
        with pay.start_as_current_span("charge", kind=SpanKind.CLIENT,
                                       attributes={"payment.amount": 42}) as charge:
            charge.set_status(Status(StatusCode.ERROR, "card declined"))
    for provider in providers.values():
        assert provider.force_flush(30_000)
        provider.shutdown()
    return (format(root.get_span_context().trace_id, "032x"),
            format(charge.get_span_context().span_id, "016x"))


def test_tempo_port_search_tags_and_trace(server_factory):
    server = server_factory("--tempo", "127.0.0.1:0")
    tempo = _tempo_url(server)
    assert httpx.get(f"{tempo}/api/echo", timeout=10).text.strip() == "echo"
    trace_id, charge_id = _send(server.grpc_endpoint)
    server.wait_for_spans(trace_id, 2)

    q = '{ resource.service.name = "shop-payment" && status = error }'
    deadline, found = time.monotonic() + 20, []
    while time.monotonic() < deadline and not found:
        body = httpx.get(f"{tempo}/api/search", params={"q": q}, timeout=30).json()
        found = [t for t in body["traces"] if t["traceID"] == trace_id]
        time.sleep(0.2)
    (match,) = found
    assert match["rootServiceName"] == "shop-frontend"
    assert match["rootTraceName"] == "POST /checkout"
    assert [s["spanID"] for s in match["spanSets"][0]["spans"]] == [charge_id]

    tags = httpx.get(f"{tempo}/api/v2/search/tags", timeout=30).json()
    scopes = {s["name"]: s["tags"] for s in tags["scopes"]}
    assert {"http.route", "user.tier", "payment.amount"} <= set(scopes["span"])
    assert "service.name" in scopes["resource"]

    r = httpx.get(f"{tempo}/api/v2/traces/{trace_id}", timeout=30)
    assert r.status_code == 200
    spans = [s for rs in r.json()["trace"]["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    assert {base64.b64decode(s["spanId"]).hex() for s in spans} >= {charge_id}
    assert {s["name"] for s in spans} == {"POST /checkout", "charge"}
    # The Tempo port is not the UI port: its own routes only.
    assert httpx.get(f"{tempo}/api/services", timeout=10).status_code == 404


def _occupy(port: int) -> socket.socket | None:
    """A listening socket on 127.0.0.1:port, or None when something else has it already."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.listen()
    return sock


def test_default_tempo_port_taken_is_skipped_with_a_warning(server_factory):
    holder = _occupy(3200)      # None: taken by someone else, which is the same case
    try:
        server = server_factory(tempo=None)     # no --tempo: the default, localhost:3200
        assert httpx.get(server.ui_url + "/healthz", timeout=10).status_code == 200
        deadline = time.monotonic() + 10
        while "store: " not in "".join(server.output) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Tempo's API is not served: localhost:3200 is taken" in "".join(server.output)
        assert not any(_TEMPO_LINE.match(line) for line in server.output)
    finally:
        if holder is not None:
            holder.close()


def test_explicit_tempo_port_taken_stops_start_up(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        out = subprocess.run(
            [sys.executable, "-m", "spanhouse.cli", "serve", "--data", str(tmp_path / "data"),
             "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--zipkin", "127.0.0.1:0",
             "--ui", "127.0.0.1:0", "--tempo", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=120, cwd=REPO)
    finally:
        holder.close()
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"--tempo 127.0.0.1:{port}: cannot listen there" in out.stderr
    assert "Traceback" not in out.stderr


def test_tempo_port_has_the_query_ports_authenticator(tmp_path):
    token = "tempo-e2e-7f3a"
    config = tmp_path / "auth.yaml"
    config.write_text(f"""
extensions:
  bearertokenauth: {{token: {token}}}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  clickhouse: {{}}
query:
  endpoint: "127.0.0.1:0"
  auth: {{authenticator: bearertokenauth}}
service:
  extensions: [bearertokenauth]
  pipelines:
    traces: {{receivers: [otlp], exporters: [clickhouse]}}
""")
    served = start(tmp_path / "data", "--config", str(config), "--tempo", "127.0.0.1:0")
    try:
        line = next(line for line in served.stdout if _TEMPO_LINE.match(line))
        assert "(auth bearertokenauth)" in line
        tempo = f"http://127.0.0.1:{_TEMPO_LINE.match(line).group(2)}"
        assert httpx.get(f"{tempo}/api/echo", timeout=10).status_code == 401
        wrong = httpx.get(f"{tempo}/api/search", headers={"Authorization": "Bearer nope"},
                          timeout=10)
        assert wrong.status_code == 401
        ok = httpx.get(f"{tempo}/api/search", params={"q": "{ }"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert ok.status_code == 200 and ok.json()["traces"] == []
    finally:
        assert served.stop() == 0
    assert token not in served.output()


def test_tempo_port_has_the_query_ports_tls(tmp_path):
    pki = make_pki(tmp_path)
    config = tmp_path / "tls.yaml"
    config.write_text(f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0"}}
exporters:
  clickhouse: {{}}
query:
  endpoint: "127.0.0.1:0"
  tls: {{cert_file: {pki.server_cert}, key_file: {pki.server_key}}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [clickhouse]}}
""")
    served = start(tmp_path / "data", "--config", str(config), "--tempo", "127.0.0.1:0")
    try:
        line = next(line for line in served.stdout if _TEMPO_LINE.match(line))
        assert "(TLS)" in line
        port = _TEMPO_LINE.match(line).group(2)
        ca = ssl.create_default_context(cafile=str(pki.ca))
        assert httpx.get(f"https://127.0.0.1:{port}/api/echo", verify=ca, timeout=10).text == "echo\n"
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/echo", timeout=10)
    finally:
        assert served.stop() == 0
