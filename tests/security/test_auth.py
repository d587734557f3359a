"""Authenticators on every listener of a real ``spanhouse serve``: no or wrong credentials are
refused (gRPC UNAUTHENTICATED, HTTP 401), the right ones are stored / answered; the real OTel
SDK exporters send them as their ``headers``; the CLI sends ``SPANHOUSE_TOKEN``."""

from __future__ import annotations

import base64
import hashlib
import json

import bcrypt
import grpc
import httpx
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from spanhouse.cli import main
from tests.security.conftest import finished_spans, trace_id, wait_for_trace

TOKEN = "tok-5f1d2c9a-secret"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _config(extensions: str, authenticator: str) -> str:
    auth = f"auth: {{authenticator: {authenticator}}}"
    return f"""
extensions:
{extensions}
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0", {auth}}}
      http: {{endpoint: "127.0.0.1:0", {auth}}}
  zipkin: {{endpoint: "127.0.0.1:0", {auth}}}
exporters:
  clickhouse: {{}}
query:
  endpoint: "127.0.0.1:0"
  {auth}
service:
  extensions: [{authenticator}]
  pipelines:
    traces: {{receivers: [otlp, zipkin], exporters: [clickhouse]}}
"""


def _grpc_code(target: str, metadata) -> grpc.StatusCode:
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(EXPORT)
        try:
            call(ExportTraceServiceRequest().SerializeToString(), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def _zipkin_span(tid: str) -> bytes:
    return json.dumps([{"traceId": tid, "id": "00000000000000a1", "name": "zipkin-span",
                        "timestamp": 1_700_000_000_000_000, "duration": 1000,
                        "localEndpoint": {"serviceName": "zipkin-svc"}}]).encode()


def _check_every_listener(served, good: dict, bad: list[dict], challenge: str | None) -> None:
    """``good``: the one header that lets a request in; ``bad``: header sets that must not."""
    (name, value), = good.items()
    ui = served.url("Query/UI")
    # gRPC: raw calls, then the SDK exporter with and without its headers.
    for headers in bad:
        metadata = tuple((k.lower(), v) for k, v in headers.items())
        assert _grpc_code(served.grpc, metadata) == grpc.StatusCode.UNAUTHENTICATED
    assert _grpc_code(served.grpc, ((name.lower(), value),)) == grpc.StatusCode.OK
    spans = finished_spans("via-grpc")
    assert GrpcExporter(endpoint=served.grpc, insecure=True, timeout=5).export(spans) \
        == SpanExportResult.FAILURE
    assert GrpcExporter(endpoint=served.grpc, insecure=True, timeout=5,
                        headers={name.lower(): value}).export(spans) == SpanExportResult.SUCCESS
    wait_for_trace(ui, trace_id(spans), good)

    # OTLP/HTTP: a 401 (with the challenge) without, the SDK exporter with.
    http_url = served.url("OTLP/HTTP") + "/v1/traces"
    for headers in bad:
        r = httpx.post(http_url, content=b"", headers={
            "Content-Type": "application/x-protobuf", **headers})
        assert r.status_code == 401, r.text
        assert r.headers.get("www-authenticate") == challenge
    spans = finished_spans("via-http")
    assert HttpExporter(endpoint=http_url, timeout=5).export(spans) == SpanExportResult.FAILURE
    assert HttpExporter(endpoint=http_url, timeout=5, headers=good).export(spans) \
        == SpanExportResult.SUCCESS
    wait_for_trace(ui, trace_id(spans), good)

    # Zipkin.
    zipkin_url = served.url("Zipkin v2") + "/api/v2/spans"
    tid = "5ec0000000000000000000000000beef"
    for headers in bad:
        r = httpx.post(zipkin_url, content=_zipkin_span(tid),
                       headers={"Content-Type": "application/json", **headers})
        assert r.status_code == 401
    r = httpx.post(zipkin_url, content=_zipkin_span(tid),
                   headers={"Content-Type": "application/json", **good})
    assert r.status_code == 202, r.text
    wait_for_trace(ui, tid, good)

    # The query port: health stays open for load balancers; the rest, /metrics too, needs it.
    assert httpx.get(ui + "/healthz").status_code == 200
    assert httpx.get(ui + "/readyz").status_code == 200
    for path in ("/api/services", "/api/v1/slowest", "/metrics", "/"):
        for headers in bad:
            r = httpx.get(ui + path, headers=headers)
            assert r.status_code == 401, (path, r.status_code)
            assert r.headers.get("www-authenticate") == challenge
        assert httpx.get(ui + path, headers=good).status_code == 200, path
    assert "zipkin-svc" in httpx.get(ui + "/api/services", headers=good).json()["data"]
    # Refusals are counted like any other.
    metrics = httpx.get(ui + "/metrics", headers=good).text
    assert 'reason="unauthenticated"' in metrics


def test_bearer_token_on_every_listener(serve, monkeypatch):
    served = serve(_config(f"  bearertokenauth:\n    token: {TOKEN}\n", "bearertokenauth"))
    _check_every_listener(
        served, {"Authorization": f"Bearer {TOKEN}"},
        [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
         {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}],
        challenge=None)

    # The CLI: SPANHOUSE_TOKEN (or --token) is sent; without it, a clear one-line error.
    ui = served.url("Query/UI")
    runner = CliRunner()
    monkeypatch.delenv("SPANHOUSE_TOKEN", raising=False)
    refused = runner.invoke(main, ["slowest", "--server", ui, "--since", "1h"])
    assert refused.exit_code != 0
    assert "requires credentials" in refused.output and "SPANHOUSE_TOKEN" in refused.output
    wrong = runner.invoke(main, ["slowest", "--server", ui, "--token", "nope"])
    assert wrong.exit_code != 0 and "refused the credentials" in wrong.output
    assert "nope" not in wrong.output
    ok = runner.invoke(main, ["slowest", "--server", ui, "--since", "1h", "--json"],
                       env={"SPANHOUSE_TOKEN": TOKEN})
    assert ok.exit_code == 0, ok.output
    assert TOKEN not in ok.output
    assert TOKEN not in served.output()


def test_basic_auth_on_every_listener(serve, monkeypatch):
    bcrypt_entry = bcrypt.hashpw(b"b-pass", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$")
    sha_entry = "{SHA}" + base64.b64encode(hashlib.sha1(b"s-pass").digest()).decode()
    extensions = (f"  basicauth:\n    htpasswd:\n      inline: |\n"
                  f"        bob:{bcrypt_entry}\n        sam:{sha_entry}\n")
    served = serve(_config(extensions, "basicauth"))

    def basic(user: str, password: str) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    _check_every_listener(
        served, basic("bob", "b-pass"),
        [{}, basic("bob", "wrong"), basic("nobody", "b-pass"), basic("sam", "b-pass"),
         {"Authorization": "Bearer b-pass"}],
        challenge='Basic realm="spanhouse", charset="UTF-8"')
    # The {SHA} entry works too; the CLI's --user with SPANHOUSE_PASSWORD.
    ui = served.url("Query/UI")
    assert httpx.get(ui + "/api/services", headers=basic("sam", "s-pass")).status_code == 200
    result = CliRunner().invoke(main, ["slowest", "--server", ui, "--user", "sam"],
                                env={"SPANHOUSE_PASSWORD": "s-pass"})
    assert result.exit_code == 0, result.output
    assert "b-pass" not in served.output() and "s-pass" not in served.output()
