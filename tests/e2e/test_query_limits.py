"""No query can starve the others, on a real ``spanhouse serve`` over the embedded store.

The hostile tester's load: 40 concurrent heavy queries (a 100-year window, limit=10000, through
``/api/v1/search`` and Jaeger's ``/api/traces``, which also reads 10000 whole traces) used to
queue every later query behind the four store connections (up to 40 s). Now a simple query
(the services, a trace by id) is answered within 2 s during that load, every heavy query is
answered, refused (503 + ``Retry-After``) or stopped at ``max_execution_time`` (503), and the
server stays up.

What makes the queries heavy is data: 200 000 spans (50 000 traces) written into the store
before the server starts (an ``INSERT ... SELECT`` over ``numbers()`` into Spanhouse's schema,
its materialized views filling the additions as the exporter's inserts do), then one trace
sent by the real OpenTelemetry SDK to look up by id.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import REPO

SPANS = 200_000
HEAVY = 40
# A lookup has a slot of its own, so it never waits for a heavy query to end (those run for
# many seconds, up to max_execution_time); it still shares the 2 cores with them: measured up
# to 2.5 s in a full `make test` run (2026-12-03), hence 3 s.
SIMPLE_WITHIN_S = 3.0

LOAD = """
import sys, time
from spanhouse.store.connection import open_client
from spanhouse.store.schema import create_schema
client = open_client("chdb://" + sys.argv[1], "default")
create_schema(client, "default", "otel_traces")
now = time.time_ns()
client.command(f'''
INSERT INTO default.otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind,
    ServiceName, ResourceAttributes, SpanAttributes, Duration, StatusCode)
SELECT fromUnixTimestamp64Nano(toInt64({now} - intDiv(number, 4) * 2000000000 - number % 4 * 1000)),
    lower(hex(MD5(toString(intDiv(number, 4))))),
    lower(hex(substring(MD5(toString(number)), 1, 8))),
    if(number % 4 = 0, '', lower(hex(substring(MD5(toString(number - 1)), 1, 8)))),
    concat('op-', toString(number % 50)), if(number % 4 = 0, 'Server', 'Client'),
    concat('svc-', toString(number % 7)), map('host.name', concat('h-', toString(number % 5))),
    map('http.route', concat('/r/', toString(number % 1000)), 'user.id', toString(number % 10007)),
    (4 - number % 4) * 1000000 + number % 1000, if(number % 13 = 0, 'Error', 'Ok')
FROM numbers({sys.argv[2]})''')
print(client.query("SELECT count() FROM default.otel_traces").result_rows[0][0])
client.close()
"""


def load_store(data_dir, spans: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-c", LOAD, str(data_dir.resolve()), str(spans)],
                         capture_output=True, text=True, timeout=180, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == spans


def send_one_trace(grpc_endpoint: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": "limits-e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://{grpc_endpoint}", insecure=True)))
    with provider.get_tracer("limits").start_as_current_span("GET /health") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def heavy_paths(now_us: int) -> list[str]:
    v1 = [f"/api/v1/search?since=876000h&limit=10000&sort={sort}"      # 100 years
          for sort in ("recent", "slowest", "most_spans", "most_errors")]
    jaeger = [f"/api/traces?service=svc-{n}&start=1&end={now_us}&limit=10000" for n in range(7)]
    both = v1 + jaeger
    return [both[i % len(both)] for i in range(HEAVY)]


def test_heavy_queries_do_not_starve_a_simple_one(server_factory, tmp_path):
    data_dir = tmp_path / "data"
    load_store(data_dir, SPANS)
    server = server_factory(data_dir=data_dir)
    trace_id = send_one_trace(server.grpc_endpoint)
    server.wait_for_spans(trace_id, 1)
    assert "svc-3" in server.get("/api/services").json()["data"]   # the loaded data is read

    def get(path: str) -> tuple[str, httpx.Response, float]:
        start = time.monotonic()
        response = httpx.get(server.ui_url + path, timeout=120)
        return path, response, time.monotonic() - start

    simple = ["/api/services", f"/api/traces/{trace_id}", f"/api/v1/traces/{trace_id}"]
    with ThreadPoolExecutor(HEAVY) as pool:
        heavy = [pool.submit(get, path) for path in heavy_paths(time.time_ns() // 1000)]
        time.sleep(0.3)   # all of them sent, the store busy with the first ones
        answered = []
        for path in simple * 2:
            _path, response, took = get(path)
            answered.append((path, response.status_code, took))
        results = [future.result() for future in heavy]

    # the simple queries: answered, and quickly, while the heavy ones ran
    for path, status, took in answered:
        assert status == 200, (path, status)
        assert took < SIMPLE_WITHIN_S, f"{path} took {took:.1f}s behind the heavy queries"

    # the heavy ones: answered, refused with Retry-After, or stopped at max_execution_time
    outcomes = {"answered": 0, "busy": 0, "timed out": 0}
    for path, response, took in results:
        if response.status_code == 200:
            outcomes["answered"] += 1
            continue
        assert response.status_code == 503, (path, response.status_code, response.text)
        if "the server is busy" in response.text:
            assert response.headers["retry-after"] == "1"
            assert took < 5, (path, took)          # refused after a short wait for a slot
            outcomes["busy"] += 1
        else:
            assert "exceeded max_execution_time" in response.text, response.text
            outcomes["timed out"] += 1
    assert outcomes["answered"] >= 1 and outcomes["busy"] >= 1, outcomes

    # the server is up and answers the same heavy query again once the load is gone
    assert server.proc.poll() is None
    assert server.get("/healthz").status_code == 200
    assert server.get(heavy_paths(time.time_ns() // 1000)[0]).status_code == 200
