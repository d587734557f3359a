"""One sender's poison span never blocks another sender's spans (issue 11).

Each poison span rides in a request beside valid spans while another sender sends 10,000 valid
spans: the poison is rejected alone through ``partial_success`` (Zipkin: counted), every valid
span of both senders is stored within 10 s, and ``/readyz`` stays 200.
"""

from __future__ import annotations

import threading
import time

import grpc
import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from bench.workload import make_request

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def proto_start_past_2_63():
    request, _ = make_request(2, 2, service="poisoner")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.start_time_unix_nano = 2**63 + 5
    return "grpc", request.SerializeToString(), 3


def json_request(**poison) -> dict:
    valid = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "valid",
             "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns())}
    bad = {**valid, "spanId": "ef" * 8, "name": "poison", **poison}
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "poisoner"}}]},
        "scopeSpans": [{"spans": [valid, bad]}]}]}


def json_dropped_minus_one():
    return "json", orjson.dumps(json_request(droppedAttributesCount=-1)), 1


def json_flags_2_40():
    return "json", orjson.dumps(json_request(flags=2**40)), 1


def zipkin_timestamp_2_62():
    now = time.time_ns() // 1000
    spans = [{"traceId": "12" * 16, "id": "34" * 8, "name": "valid", "timestamp": now,
              "duration": 10, "localEndpoint": {"serviceName": "poisoner"}},
             {"traceId": "12" * 16, "id": "56" * 8, "name": "poison", "timestamp": 2**62,
              "duration": 10, "localEndpoint": {"serviceName": "poisoner"}}]
    return "zipkin", orjson.dumps(spans), 1


@pytest.mark.parametrize("poison", [proto_start_past_2_63, json_dropped_minus_one,
                                    json_flags_2_40, zipkin_timestamp_2_62])
def test_poison_span_is_rejected_alone_and_others_are_stored(server, poison):
    kind, body, valid_in_poison_request = poison()
    other_spans = 10_000
    stored_before = server.metric("spanhouse_spans_stored_total")

    def other_sender():
        with grpc.insecure_channel(server.grpc_endpoint) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None,
                                         response_deserializer=ExportTraceServiceResponse.FromString)
            for i in range(other_spans // 1000):
                request, _ = make_request(50, 20, service=f"other-{i}")
                assert not export(request.SerializeToString(), timeout=30).HasField(
                    "partial_success")

    other = threading.Thread(target=other_sender)
    other.start()
    if kind == "grpc":
        with grpc.insecure_channel(server.grpc_endpoint) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None,
                                         response_deserializer=ExportTraceServiceResponse.FromString)
            response = export(body, timeout=30)
        assert response.partial_success.rejected_spans == 1
        assert "startTimeUnixNano" in response.partial_success.error_message
    elif kind == "json":
        r = httpx.post(server.http_url + "/v1/traces", content=body,
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text
        partial = r.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1"
        assert len(partial["errorMessage"]) < 1100
    else:
        r = httpx.post(server.zipkin_url + "/api/v2/spans", content=body,
                       headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 202, r.text
    other.join(60)

    expected = stored_before + other_spans + valid_in_poison_request
    deadline = time.monotonic() + 10
    while server.metric("spanhouse_spans_stored_total") < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.metric("spanhouse_spans_stored_total") == expected
    assert server.metric("spanhouse_spans_rejected_total") == 1
    assert server.metric("spanhouse_spans_dead_lettered_total") == 0
    assert server.get("/readyz").status_code == 200
