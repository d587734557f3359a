"""The security settings are checked like every other: a mistake is a ``ConfigError`` at
``FILE:LINE: KEY``; what cannot be honoured is refused, never ignored. And the two
authenticators on their own (token file re-read, hash formats, constant-time checks)."""

from __future__ import annotations

import base64
import os
import time

import pytest

from spanhouse.config.settings import settings_from_config
from spanhouse.errors import ConfigError
from spanhouse.extensions import bearertokenauth

PIPELINE = """
service:
  {extensions}
  pipelines:
    traces: {{receivers: [otlp], exporters: [clickhouse]}}
exporters: {{clickhouse: {{}}}}
"""


def _load(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return settings_from_config(str(path))


def _error(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    return str(err.value)


def test_authenticator_must_be_an_enabled_extension(tmp_path):
    receivers = """receivers:
  otlp:
    protocols:
      grpc:
        auth:
          authenticator: bearertokenauth/ingest
"""
    text = receivers + "extensions:\n  bearertokenauth/ingest: {token: t}\n" + PIPELINE.format(
        extensions="extensions: [bearertokenauth/ingest]")
    assert _load(tmp_path, text).security["grpc"].authenticator == "bearertokenauth/ingest"
    # Defined but not listed in service.extensions: not enabled, as in the collector.
    message = _error(tmp_path, text.replace("extensions: [bearertokenauth/ingest]", ""))
    assert message.startswith(f"{tmp_path}/c.yaml:6: receivers.otlp.protocols.grpc.auth.authenticator")
    assert "service.extensions" in message
    message = _error(tmp_path, text.replace("bearertokenauth/ingest: {token: t}", "bearer: {token: t}"))
    assert "unknown extension type 'bearer'" in message and 'did you mean "bearertokenauth"' in message


@pytest.mark.parametrize("setting, expected", [
    ("grpc: {tls: {cert_file: CERT}}", "protocols.grpc.tls.key_file: a TLS listener needs both"),
    ("grpc: {tls: {cert_file: CERT, key_file: CERT, min_version: '1.3'}}",
     "protocols.grpc.tls.min_version: cannot be honoured on the gRPC listener"),
    ("http: {tls: {cert_file: CERT, key_file: CERT, cert_pem: x}}",
     "protocols.http.tls.cert_pem: is not supported"),
    ("http: {tls: {cert_file: CERT, key_file: CERT, min_version: '1.4'}}",
     "'1.4' is not one of 1.0, 1.1, 1.2, 1.3"),
    ("http: {cors: {allowed_origins: ['example.com']}}", "allowed_origins[0]: 'example.com' is not an origin"),
    ("http: {auth: {authenticator: a, request_params: [x]}}", "request_params: is not supported"),
    ("http: {tsl: {}}", 'unknown field (did you mean "tls"?)'),
])
def test_listener_settings_are_checked(tmp_path, setting, expected):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    text = ("receivers:\n  otlp:\n    protocols:\n      " + setting.replace("CERT", str(cert))
            + "\n" + PIPELINE.format(extensions=""))
    assert expected in _error(tmp_path, text)


def test_files_are_read_when_serve_starts_and_errors_located(tmp_path):
    from spanhouse.server import SpanhouseServer

    text = ("extensions:\n  basicauth: {htpasswd: {file: /nonexistent/htpasswd}}\n"
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        tls:\n"
            "          cert_file: /nonexistent/cert.pem\n          key_file: /nonexistent/key.pem\n"
            + PIPELINE.format(extensions="extensions: [basicauth]"))
    settings = _load(tmp_path, text)  # config check's view: the settings are right
    with pytest.raises(ConfigError) as err:
        SpanhouseServer(settings)._load_security()
    assert str(err.value).startswith(f"{tmp_path}/c.yaml:2: extensions.basicauth.htpasswd.file: "
                                     "cannot read '/nonexistent/htpasswd'")
    settings = _load(tmp_path, text.replace("/nonexistent/htpasswd", str(tmp_path / "c.yaml")))
    with pytest.raises(ConfigError) as err:
        SpanhouseServer(settings)._load_security()
    assert "extensions.basicauth.htpasswd.file" in str(err.value)  # not an htpasswd file
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("ann:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")
    settings = _load(tmp_path, text.replace("/nonexistent/htpasswd", str(htpasswd)))
    with pytest.raises(ConfigError) as err:
        SpanhouseServer(settings)._load_security()
    assert str(err.value).startswith(f"{tmp_path}/c.yaml:9: receivers.otlp.protocols.grpc.tls."
                                     "key_file: cannot read /nonexistent/key.pem")
    auth = settings.authenticators["basicauth"]
    assert auth.verify("Basic " + base64.b64encode(b"ann:password").decode())


def test_query_section(tmp_path):
    text = ("receivers: {otlp: {protocols: {http: {}}}}\nquery:\n  endpoint: 0.0.0.0:16686\n"
            "  max_concurrent_queries: 8\n  max_execution_time: 45s\n" + PIPELINE.format(extensions=""))
    settings = _load(tmp_path, text)
    assert (settings.ui, settings.max_concurrent_queries, settings.query_timeout_s) == \
        ("0.0.0.0:16686", 8, 45.0)
    assert settings.http == "localhost:4318"  # the receivers' default: loopback
    assert "query.max_execution_time" in _error(tmp_path, text.replace("45s", "soon"))
    assert 'query.max_concurent: unknown field (did you mean "max_concurrent_queries"?)' in \
        _error(tmp_path, text.replace("max_concurrent_queries", "max_concurent"))


def test_htpasswd_formats(tmp_path):
    base = ("receivers: {otlp: {protocols: {http: {}}}}\nextensions:\n  basicauth:\n"
            "    htpasswd:\n      inline: |\n        ENTRY\n" + PIPELINE.format(extensions="extensions: [basicauth]"))
    message = _error(tmp_path, base.replace("ENTRY", "joe:$apr1$abc$def"))
    assert "extensions.basicauth.htpasswd.inline: inline line 1: unsupported hash format" in message
    assert "def" not in message  # no part of the hash is echoed
    assert "expected user:password-hash" in _error(tmp_path, base.replace("ENTRY", "joe"))
    auth = _load(tmp_path, base.replace("ENTRY", "joe:plain-pass")).authenticators["basicauth"]
    header = "Basic " + base64.b64encode(b"joe:plain-pass").decode()
    assert auth.verify(header) and auth.verify(header)  # the second from the cache
    assert not auth.verify("Basic " + base64.b64encode(b"joe:plain-pas").decode())
    assert not auth.verify("Basic !!!") and not auth.verify(None)


def test_bearer_token_file_is_reread_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(bearertokenauth, "RECHECK_S", 0.0)
    tokens = tmp_path / "tokens"
    tokens.write_text("first\n")
    auth = bearertokenauth.BearerTokenAuth("bearertokenauth", [], "Bearer", "Authorization",
                                           str(tokens))
    auth.start()
    assert auth.verify("Bearer first") and not auth.verify("Bearer second")
    tokens.write_text("second\nthird\n")
    os.utime(tokens, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert auth.verify("Bearer second") and auth.verify("Bearer third")
    assert not auth.verify("Bearer first")
    tokens.unlink()  # unreadable: the tokens read before stay
    assert auth.verify("Bearer third")
    bare = bearertokenauth.BearerTokenAuth("b", ["t0k"], "", "X-Api-Key")
    assert bare.header == "x-api-key" and bare.verify("t0k") and not bare.verify("Bearer t0k")
