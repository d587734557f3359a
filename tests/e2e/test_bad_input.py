"""Bad input gets a clear error, costs nobody else anything, and the server keeps serving."""

from __future__ import annotations

import gzip
import json
import os
import zlib

import grpc
import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from bench.workload import make_request

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}


def grpc_export(server, body: bytes, compression=None) -> ExportTraceServiceResponse:
    with grpc.insecure_channel(server.grpc_endpoint, options=[
            ("grpc.max_send_message_length", 512 * 1024 * 1024)]) as channel:
        call = channel.unary_unary(EXPORT, request_serializer=None,
                                   response_deserializer=ExportTraceServiceResponse.FromString)
        return call(body, timeout=30, compression=compression)


def request_with_bad_ids() -> tuple[bytes, str]:
    """One valid span, one with an all-zero trace id, one with a 4-byte span id."""
    request, trace_ids = make_request(3, 1)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].trace_id = bytes(16)
    spans[2].span_id = b"\x01\x02\x03\x04"
    return request.SerializeToString(), trace_ids[0]


def gzip_bomb(inflated_bytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(inflated_bytes // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def assert_still_serving(server) -> None:
    assert server.get("/healthz").status_code == 200
    request, trace_ids = make_request(1, 2)
    r = httpx.post(server.http_url + "/v1/traces", content=request.SerializeToString(), headers=PB)
    assert r.status_code == 200
    server.wait_for_spans(trace_ids[0], 2)


def test_http_malformed_protobuf_is_400_with_status_body(server):
    r = httpx.post(server.http_url + "/v1/traces", content=b"\xff\xff\xff\x0f garbage", headers=PB)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/x-protobuf")
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 3 and status.message
    assert_still_serving(server)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b'{"resourceSpans": 7}'])
def test_http_malformed_json_is_400_with_json_status(server, body):
    r = httpx.post(server.http_url + "/v1/traces", content=body, headers=JS)
    assert r.status_code == 400
    payload = r.json()
    assert payload["code"] == 3 and payload["message"]
    assert_still_serving(server)


def test_http_invalid_ids_rejected_one_by_one(server):
    body, good_trace = request_with_bad_ids()
    r = httpx.post(server.http_url + "/v1/traces", content=body, headers=PB)
    assert r.status_code == 200
    response = ExportTraceServiceResponse.FromString(r.content)
    assert response.partial_success.rejected_spans == 2
    assert response.partial_success.error_message
    server.wait_for_spans(good_trace, 1)
    assert server.metric("spanhouse_spans_rejected_total", receiver="otlp_http") == 2


def test_http_json_partial_success_in_json(server):
    request, trace_ids = make_request(2, 1)
    spans = request.resource_spans[0].scope_spans[0].spans
    good = {"traceId": spans[0].trace_id.hex(), "spanId": spans[0].span_id.hex(), "name": "ok",
            "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000"}
    bad = dict(good, traceId="00" * 16, spanId="ab" * 8)
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-svc"}}]},
        "scopeSpans": [{"spans": [good, bad]}]}]}
    r = httpx.post(server.http_url + "/v1/traces", content=json.dumps(body), headers=JS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["partialSuccess"]["rejectedSpans"] in ("1", 1)
    server.wait_for_spans(trace_ids[0], 1)


def test_gzip_bomb_is_refused_without_inflating_it(server):
    bomb = gzip_bomb(256 * 1024 * 1024)  # 256 MiB of zeros, ~250 KiB on the wire
    assert len(bomb) < 1024 * 1024
    r = httpx.post(server.http_url + "/v1/traces", content=bomb,
                   headers={**PB, "Content-Encoding": "gzip"}, timeout=60)
    assert r.status_code == 413
    r = httpx.post(server.zipkin_url + "/api/v2/spans", content=bomb,
                   headers={**JS, "Content-Encoding": "gzip"}, timeout=60)
    assert r.status_code == 413
    assert server.metric("spanhouse_requests_refused_total", reason="too_large") == 2
    assert_still_serving(server)


def test_gzip_body_is_accepted(server):
    request, trace_ids = make_request(1, 3)
    r = httpx.post(server.http_url + "/v1/traces", content=gzip.compress(request.SerializeToString()),
                   headers={**PB, "Content-Encoding": "gzip"})
    assert r.status_code == 200
    server.wait_for_spans(trace_ids[0], 3)


def test_oversized_request_is_413_and_resource_exhausted(server_factory):
    server = server_factory("--max-request-bytes", "65536")
    request, _ = make_request(200, 1)
    body = request.SerializeToString()
    assert len(body) > 65536
    r = httpx.post(server.http_url + "/v1/traces", content=body, headers=PB)
    assert r.status_code == 413
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(server, body)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_still_serving(server)


def test_wrong_content_type_is_415(server):
    r = httpx.post(server.http_url + "/v1/traces", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = httpx.post(server.zipkin_url + "/api/v2/spans", content=b"\x0a\x00",
                   headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 415
    assert_still_serving(server)


def test_unsupported_content_encoding_is_400(server):
    request, _ = make_request(1, 1)
    r = httpx.post(server.http_url + "/v1/traces", content=request.SerializeToString(),
                   headers={**PB, "Content-Encoding": "br"})
    assert r.status_code == 400
    assert "Content-Encoding" in status_pb2.Status.FromString(r.content).message
    r = httpx.post(server.http_url + "/v1/traces", content=b"not gzip at all",
                   headers={**PB, "Content-Encoding": "gzip"})
    assert r.status_code == 400


def test_grpc_malformed_is_invalid_argument(server):
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(server, b"\xff\xff\xff\x0f garbage")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details()
    assert_still_serving(server)


def test_grpc_invalid_ids_partial_success_and_gzip(server):
    body, good_trace = request_with_bad_ids()
    response = grpc_export(server, body, compression=grpc.Compression.Gzip)
    assert response.partial_success.rejected_spans == 2
    server.wait_for_spans(good_trace, 1)


def test_zipkin_malformed_is_400(server):
    for body in (b"{", b'{"not": "an array"}'):
        r = httpx.post(server.zipkin_url + "/api/v2/spans", content=body, headers=JS)
        assert r.status_code == 400 and r.text
    bad_and_good = [
        {"traceId": "0" * 32, "id": "1" * 16, "name": "bad", "timestamp": 1700000000000000, "duration": 5,
         "localEndpoint": {"serviceName": "z"}},
        {"traceId": "a" * 32, "id": "2" * 16, "name": "good", "timestamp": 1700000000000000, "duration": 5,
         "localEndpoint": {"serviceName": "z"}},
    ]
    r = httpx.post(server.zipkin_url + "/api/v2/spans", content=json.dumps(bad_and_good), headers=JS)
    assert r.status_code == 202
    server.wait_for_spans("a" * 32, 1)
    assert server.metric("spanhouse_spans_rejected_total", receiver="zipkin") == 1


def test_query_bad_trace_id_is_400(server):
    r = server.get("/api/traces/not-a-trace-id'--")
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == 400
    r = server.get("/api/traces/" + os.urandom(16).hex())
    assert r.status_code == 404
