"""TLS and mutual TLS with the collector's ``tls`` keys, certificates made here: the real SDK
gRPC exporter with the CA (and its client certificate under mTLS), a client without one
refused; HTTPS with ``min_version``; the CLI's ``--ca-file``; and Spanhouse's own ``otlp``
exporter forwarding over mTLS to another Spanhouse."""

from __future__ import annotations

import ssl

import grpc
import httpx
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from spanhouse.cli import main
from tests.security.conftest import finished_spans, make_pki, trace_id, wait_for_trace

PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path)


def test_tls_and_mtls_listeners_and_forwarding(serve, pki, tmp_path):
    tls = f"cert_file: {pki.server_cert}, key_file: {pki.server_key}"
    served = serve(f"""
receivers:
  otlp:
    protocols:
      grpc: {{tls: {{{tls}, client_ca_file: {pki.ca}, reload_interval: 1m}}}}
      http: {{tls: {{{tls}, min_version: "1.3"}}}}
exporters:
  clickhouse: {{}}
query:
  tls: {{{tls}}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [clickhouse]}}
""", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0", name="tls")
    out = served.output()
    assert "(mTLS)" in out and "(TLS)" in out
    ui = served.url("Query/UI", "https")
    ca = ssl.create_default_context(cafile=str(pki.ca))

    # gRPC under mTLS: the SDK exporter with the CA and a client certificate is let in...
    root, cert, key = (p.read_bytes() for p in (pki.ca, pki.client_cert, pki.client_key))
    spans = finished_spans("over-mtls")
    exporter = GrpcExporter(endpoint=served.grpc, timeout=5, credentials=grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=cert))
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    wait_for_trace(ui, trace_id(spans), verify=ca)
    # ...with the CA only (no client certificate), or in clear text, it is not.
    no_cert = GrpcExporter(endpoint=served.grpc, timeout=3,
                           credentials=grpc.ssl_channel_credentials(root_certificates=root))
    assert no_cert.export(finished_spans()) == SpanExportResult.FAILURE
    assert GrpcExporter(endpoint=served.grpc, insecure=True, timeout=3).export(
        finished_spans()) == SpanExportResult.FAILURE

    # HTTPS with min_version 1.3: the CA verifies it, a TLS 1.2 client and plain HTTP fail.
    http = served.url("OTLP/HTTP", "https") + "/v1/traces"
    assert httpx.post(http, content=b"", headers=PB, verify=ca).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(http, content=b"", headers=PB)  # the system CAs do not know ours
    old = ssl.create_default_context(cafile=str(pki.ca))
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(httpx.ConnectError):
        httpx.post(http, content=b"", headers=PB, verify=old)
    with pytest.raises(httpx.HTTPError):
        httpx.post(served.url("OTLP/HTTP") + "/v1/traces", content=b"", headers=PB)

    # The query port over HTTPS: the CLI with --ca-file.
    result = CliRunner().invoke(main, ["slowest", "--server", ui, "--ca-file", str(pki.ca)])
    assert result.exit_code == 0, result.output

    # Spanhouse's otlp exporter forwards over mTLS (ca_file, cert_file, key_file).
    forwarder = serve(f"""
receivers:
  otlp: {{protocols: {{http: {{}}}}}}
exporters:
  otlp:
    endpoint: {served.grpc}
    tls: {{ca_file: {pki.ca}, cert_file: {pki.client_cert}, key_file: {pki.client_key}}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [otlp]}}
""", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0", name="forwarder")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    spans = finished_spans("forwarded")
    sent = OTLPSpanExporter(endpoint=forwarder.url("OTLP/HTTP") + "/v1/traces").export(spans)
    assert sent == SpanExportResult.SUCCESS
    wait_for_trace(ui, trace_id(spans), verify=ca)
