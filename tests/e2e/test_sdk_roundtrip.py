"""The seed's setup, for real: the OpenTelemetry SDK sends a nested trace over a real socket to
a real ``spanhouse serve``; ``GET /api/traces/{id}`` must give back every span intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CLIENT = Path(__file__).with_name("sdk_client.py")
JSON_PYTHON = REPO / ".venv-otlpjson" / "bin" / "python"


def run_client(kind: str, endpoint: str, python: str = sys.executable) -> list[dict]:
    out = subprocess.run([python, str(CLIENT), kind, endpoint], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OTEL_SDK_DISABLED": "false"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def tags_of(jaeger_span_or_process: dict) -> dict:
    return {t["key"]: (t["type"], t["value"]) for t in jaeger_span_or_process["tags"]}


JAEGER_TYPE = {str: "string", bool: "bool", int: "int64", float: "float64"}


def expected_tag(value):
    if isinstance(value, list):
        return ("string", json.dumps(value, separators=(",", ":")))
    return (JAEGER_TYPE[type(value)], value)


def check_common(sent: list[dict], trace: dict, exact_types: bool) -> dict[str, dict]:
    """Parents, names, kinds, times and status: the same for every protocol."""
    main = [s for s in sent if s["name"] != "background-job"]
    trace_id = main[0]["trace_id"]
    assert trace["traceID"] == trace_id
    by_id = {s["spanID"]: s for s in trace["spans"]}
    assert set(by_id) == {s["span_id"] for s in main}
    for s in main:
        got = by_id[s["span_id"]]
        assert got["operationName"] == s["name"]
        # Zipkin carries µs and its exporter rounds; OTLP carries ns and Jaeger truncates.
        slack = 0 if exact_types else 1
        assert abs(got["startTime"] - s["start_ns"] // 1000) <= slack
        assert abs(got["duration"] - (s["end_ns"] - s["start_ns"]) // 1000) <= 1
        parents = [r for r in got["references"] if r["refType"] == "CHILD_OF"]
        if s["parent_span_id"]:
            assert parents == [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": s["parent_span_id"]}]
        else:
            assert parents == []
        tags = tags_of(got)
        if s["kind"] in ("SERVER", "CLIENT"):
            assert tags["span.kind"] == ("string", s["kind"].lower())
        if s["status"] == "ERROR":
            assert tags["error"] == ("bool", True)
            assert tags["otel.status_code"] == ("string", "ERROR")
            assert tags["otel.status_description"] == ("string", s["status_description"])
        else:
            assert "error" not in tags
        process = trace["processes"][got["processID"]]
        assert process["serviceName"] == "api-gateway"
    return by_id


def check_full_fidelity(sent: list[dict], trace: dict) -> None:
    """OTLP carries everything: typed attributes, events, links, scope, resource."""
    by_id = check_common(sent, trace, exact_types=True)
    for s in sent:
        if s["name"] == "background-job":
            continue
        got = by_id[s["span_id"]]
        tags = tags_of(got)
        for key, value in s["attributes"].items():
            assert tags[key] == expected_tag(value), key
        assert tags["otel.scope.name"] == ("string", "spanhouse.e2e")
        assert tags["otel.scope.version"] == ("string", "1.2.3")
        assert len(got["logs"]) == len(s["events"])
        for log, event in zip(got["logs"], s["events"]):
            assert log["timestamp"] == event["time_ns"] // 1000
            fields = {f["key"]: (f["type"], f["value"]) for f in log["fields"]}
            assert fields["event"] == ("string", event["name"])
            for key, value in event["attributes"].items():
                assert fields[key] == expected_tag(value)
        follows = [r for r in got["references"] if r["refType"] == "FOLLOWS_FROM"]
        assert follows == [{"refType": "FOLLOWS_FROM", "traceID": l["trace_id"], "spanID": l["span_id"]}
                           for l in s["links"]]
        process_tags = tags_of(trace["processes"][got["processID"]])
        assert process_tags["deployment.environment"] == ("string", "e2e")
        assert process_tags["telemetry.sdk.language"] == ("string", "python")


@pytest.mark.parametrize("kind", ["grpc", "http-proto"])
def test_otlp_protobuf_exporters_roundtrip(server, kind):
    endpoint = server.grpc_endpoint if kind == "grpc" else server.http_url
    sent = run_client(kind, endpoint)
    trace_id = sent[-1]["trace_id"]
    body = server.wait_for_spans(trace_id, 3)
    assert body["errors"] is None
    check_full_fidelity(sent, body["data"][0])
    receiver = {"grpc": "otlp_grpc", "http-proto": "otlp_http"}[kind]
    assert server.metric("spanhouse_spans_received_total", receiver=receiver) == 4


@pytest.mark.skipif(not JSON_PYTHON.exists(),
                    reason="the OTLP/JSON exporter's environment (.venv-otlpjson) is made by `make install`")
def test_otlp_json_exporter_roundtrip(server):
    sent = run_client("http-json", server.http_url, python=str(JSON_PYTHON))
    trace_id = sent[-1]["trace_id"]
    body = server.wait_for_spans(trace_id, 3)
    check_full_fidelity(sent, body["data"][0])


def test_zipkin_json_exporter_roundtrip(server):
    sent = run_client("zipkin-json", server.zipkin_url)
    trace_id = sent[-1]["trace_id"]
    body = server.wait_for_spans(trace_id, 3)
    by_id = check_common(sent, body["data"][0], exact_types=False)
    root = next(s for s in sent if s["name"] == "GET /checkout")
    tags = tags_of(by_id[root["span_id"]])
    # Zipkin tags are strings: the values arrive, their types do not.
    assert tags["str.attr"] == ("string", "hello")
    assert tags["user.id"] == ("string", "user-42")
    assert tags["int.attr"][1] == "42"
    logs = by_id[root["span_id"]]["logs"]
    assert len(logs) == 1 and abs(logs[0]["timestamp"] - root["events"][0]["time_ns"] // 1000) <= 1
    assert "checkout.started" in json.dumps(logs[0]["fields"])
