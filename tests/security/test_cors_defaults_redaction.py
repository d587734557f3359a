"""CORS and Zipkin's content type, loopback defaults, and no secret in any output, against
real ``spanhouse serve`` processes (and ``config check``)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest

from spanhouse.config.redact import redact
from spanhouse.config.settings import ServeSettings
from spanhouse.server import DEFAULT_TEMPO
from tests.security.conftest import REPO, start

SPAN = json.dumps([{"traceId": "c0c0000000000000000000000000c0c0", "id": "00000000000000c1",
                    "name": "cors", "timestamp": 1_700_000_000_000_000, "duration": 5,
                    "localEndpoint": {"serviceName": "browser"}}]).encode()


def test_cors_and_zipkin_content_type(serve):
    served = serve("""
receivers:
  otlp: {protocols: {http: {cors: {allowed_origins: ["https://*.example.com"], max_age: 600}}}}
  zipkin: {cors: {allowed_origins: ["https://app.example.org"], allowed_headers: [x-custom]}}
exporters: {clickhouse: {}}
service: {pipelines: {traces: {receivers: [otlp, zipkin], exporters: [clickhouse]}}}
""")
    zipkin = served.url("Zipkin v2") + "/api/v2/spans"
    otlp = served.url("OTLP/HTTP") + "/v1/traces"
    # A page of another site: text/plain needs no preflight, so it must be refused.
    evil = {"Origin": "https://evil.test", "Content-Type": "text/plain"}
    assert httpx.post(zipkin, content=SPAN, headers=evil).status_code == 403
    r = httpx.post(zipkin, content=SPAN, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415  # and without an Origin too: only application/json
    assert httpx.post(zipkin, content=SPAN).status_code == 415
    r = httpx.post(zipkin, content=SPAN, headers={"Origin": "https://evil.test",
                                                  "Content-Type": "application/json"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers

    # Preflights: the allowed origin (a wildcard for OTLP/HTTP) gets the CORS headers...
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    r = httpx.options(otlp, headers={"Origin": "https://ui.example.com", **preflight})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://ui.example.com"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-max-age"] == "600"
    r = httpx.options(zipkin, headers={"Origin": "https://app.example.org", **preflight,
                                       "Access-Control-Request-Headers": "content-type, x-custom"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://app.example.org"
    # ...another origin does not, nor a header that is not allowed.
    for url, origin in ((otlp, "https://example.com.evil.test"), (otlp, "http://ui.example.com"),
                        (zipkin, "https://evil.test")):
        r = httpx.options(url, headers={"Origin": origin, **preflight})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, origin
    r = httpx.options(zipkin, headers={"Origin": "https://app.example.org", **preflight,
                                       "Access-Control-Request-Headers": "x-other"})
    assert r.status_code == 403
    # OPTIONS without Origin is answered (it was 405).
    assert httpx.options(otlp).status_code == 204

    # The allowed origin's real request is stored and its answer readable by the page.
    r = httpx.post(zipkin, content=SPAN, headers={"Origin": "https://app.example.org",
                                                  "Content-Type": "application/json"})
    assert r.status_code == 202
    assert r.headers["access-control-allow-origin"] == "https://app.example.org"
    # Senders without Origin (SDKs, curl) are not concerned.
    assert httpx.post(otlp, content=b"", headers={"Content-Type": "application/x-protobuf"}
                      ).status_code == 200


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.123", 9))  # no packet is sent: it picks the outgoing address
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_defaults_listen_on_loopback_only(tmp_path):
    assert {ServeSettings().grpc, ServeSettings().http, ServeSettings().zipkin,
            ServeSettings().ui} == {"localhost:4317", "localhost:4318", "localhost:9411",
                                    "localhost:16686"}
    assert DEFAULT_TEMPO == "localhost:3200"
    for port in (4317, 4318, 9411, 16686, 3200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"port {port} is in use here: cannot run serve with its defaults")
    served = start(tmp_path / "data")  # no listener flag, no config: the defaults
    try:
        assert set(served.addresses) == {"OTLP/gRPC", "OTLP/HTTP", "Zipkin v2", "Query/UI",
                                         "Tempo API"}
        for label, (host, port) in served.addresses.items():
            assert host in ("localhost", "127.0.0.1", "::1"), (label, host)
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        other = _non_loopback_address()
        if other is not None:
            for label, (_, port) in served.addresses.items():
                with pytest.raises(OSError):
                    socket.create_connection((other, port), timeout=3).close()
    finally:
        assert served.stop() == 0


TOKEN = "tok-never-printed-7c1e"
PASSWORD = "pw-never-printed-93af"


def test_no_password_or_token_in_any_output(tmp_path, serve):
    assert redact(f"http://spanhouse:{PASSWORD}@db:8123") == "http://spanhouse:***@db:8123"
    assert ServeSettings(store_endpoint=f"https://u:{PASSWORD}@h:8443").printable_store_endpoint \
        == "https://u:***@h:8443"
    extensions = f"""
extensions:
  bearertokenauth: {{token: {TOKEN}}}
  basicauth: {{htpasswd: {{inline: "admin:{PASSWORD}"}}}}
"""
    pipeline = """
receivers:
  otlp: {protocols: {grpc: {auth: {authenticator: bearertokenauth}}, http: {auth: {authenticator: bearertokenauth}}}}
query: {auth: {authenticator: basicauth}}
service:
  extensions: [bearertokenauth, basicauth]
  pipelines: {traces: {receivers: [otlp], exporters: [clickhouse]}}
"""
    # config check of a ClickHouse server DSN with a password, and the tokens.
    server_config = tmp_path / "server.yaml"
    server_config.write_text(extensions + pipeline + f"""
exporters:
  clickhouse: {{endpoint: "http://spanhouse:{PASSWORD}@127.0.0.1:1", database: otel}}
""")
    check = subprocess.run([sys.executable, "-m", "spanhouse.cli", "config", "check",
                            str(server_config)], capture_output=True, text=True, cwd=REPO)
    assert check.returncode == 0, check.stderr
    assert "http://spanhouse:***@127.0.0.1:1" in check.stdout
    assert PASSWORD not in check.stdout + check.stderr and TOKEN not in check.stdout + check.stderr

    # serve with that store: it cannot reach it, and says so without the password.
    failed = subprocess.run([sys.executable, "-m", "spanhouse.cli", "serve", "--data",
                             str(tmp_path / "d0"), "--config", str(server_config), "--grpc",
                             "127.0.0.1:0", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert failed.returncode != 0
    assert "spanhouse:***@127.0.0.1:1" in failed.stdout + failed.stderr
    assert PASSWORD not in failed.stdout + failed.stderr

    # serve with the embedded store, the authenticators, and refused requests logged.
    served = serve(extensions + pipeline + "exporters: {clickhouse: {}}\n",
                   "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0")
    http = served.url("OTLP/HTTP") + "/v1/traces"
    assert httpx.post(http, content=b"", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.post(http, content=b"", headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/x-protobuf"}
                      ).status_code == 200
    assert httpx.get(served.url("Query/UI") + "/api/services",
                     auth=("admin", PASSWORD)).status_code == 200
    assert served.stop() == 0
    out = served.output()
    assert "listening on" in out and "stopped" in out
    assert TOKEN not in out and PASSWORD not in out
