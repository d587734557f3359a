"""Every number sampling-aware, against a KNOWN answer (issue 14).

A data set with a known true error rate and latency distribution is sent by the real OTel SDK
over OTLP/gRPC to a real ``spanhouse serve --config`` running the demo's collector config
(``spanhouse/demo/collector.yaml``: the seed's tail sampling, verbatim: keep every error trace
and every trace over 1 s at weight 1, 5% of the rest at weight 20). The store then holds a
skewed sample (most of what it keeps are errors and slow traces); /api/v1 must still answer
with the truth, within 10%:

- ``N`` requests ``gateway "GET /products"`` -> ``gateway "GET"`` client
  (peer.service=backend) -> ``backend "GET /products"``; ``ERROR_SHARE`` of them fail at the
  backend (backend, the client span and the gateway root all have status Error);
  ``SLOW_SHARE`` of them take ~2 s (1.8-2.2 s), the rest ~100 ms (80-120 ms). The truth is
  computed from what was sent: error rate, median root duration, request count.
- one in ``LOST_EVERY`` requests also calls inventory without propagating the context: a
  ``gateway "POST"`` client span (peer.service=inventory) with no child, and inventory's
  ``"POST /reserve"`` server span as the root of a trace of its own.

Checked: /api/v1/errors (estimated error rate of backend and gateway; backend, the origin,
first), /api/v1/bottleneck (the endpoint's weighted median and estimated traces),
/api/v1/dependencies (the gateway -> backend edge's estimated calls and error rate; the
gateway -> inventory context-lost edge), Jaeger's /api/dependencies callCount, and TraceQL
metrics on the Tempo port (count_over_time and rate() by service: issue 15). Trace ids
and the data come from fixed seeds: the run is reproducible.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import httpx
import pytest

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.conftest import REPO
from tests.e2e.store_config import tail_sampling_config
from tests.e2e.test_tail_sampling_seed import SeededIds

N = 4000
ERROR_SHARE = 0.20
SLOW_SHARE = 0.10
LOST_EVERY = 10
TOLERANCE = 0.10
MS = 1_000_000
DEMO_CONFIG = REPO / "spanhouse" / "demo" / "collector.yaml"


def processors_block(path: Path) -> str:
    """The ``processors:`` block of a collector config, verbatim."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("processors:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    return "\n".join(lines[start:end]).rstrip()


def write_config(tmp_path: Path) -> Path:
    """The demo's processors and pipeline, with this test's listener and data directory."""
    block = processors_block(DEMO_CONFIG)
    assert "decision_wait: 2s" in block and "sampling_percentage: 5" in block
    assert "threshold_ms: 1000" in block and "status_codes: [ERROR]" in block
    return tail_sampling_config(tmp_path, block)


def provider(service: str, endpoint: str, seed: int) -> TracerProvider:
    p = TracerProvider(resource=Resource.create({"service.name": service}),
                       id_generator=SeededIds(seed))
    p.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
        max_queue_size=30_000, max_export_batch_size=1000, schedule_delay_millis=100))
    return p


def send(endpoint: str) -> dict:
    """Send the data set; returns the truth: requests, errors, root durations (ns), lost calls."""
    rng = random.Random(14)
    gateway, backend, inventory = (provider("gateway", endpoint, 1401),
                                   provider("backend", endpoint, 1402),
                                   provider("inventory", endpoint, 1403))
    tg, tb, ti = (p.get_tracer("issue-14") for p in (gateway, backend, inventory))
    base = time.time_ns() - 300 * 10**9
    durations, errors, lost = [], 0, 0
    for i in range(N):
        start = base + i * MS
        failed = rng.random() < ERROR_SHARE
        slow = rng.random() < SLOW_SHARE
        duration = int((rng.uniform(1800, 2200) if slow else rng.uniform(80, 120)) * MS)
        root = tg.start_span("GET /products", kind=SpanKind.SERVER, start_time=start,
                             attributes={"http.route": "/products"})
        ctx = trace.set_span_in_context(root)
        client = tg.start_span("GET", context=ctx, kind=SpanKind.CLIENT, start_time=start + MS,
                               attributes={"peer.service": "backend"})
        server = tb.start_span("GET /products", context=trace.set_span_in_context(client),
                               kind=SpanKind.SERVER, start_time=start + 2 * MS,
                               attributes={"http.route": "/products"})
        if failed:
            server.set_status(Status(StatusCode.ERROR, "db timeout"))
            client.set_status(Status(StatusCode.ERROR))
            root.set_status(Status(StatusCode.ERROR))
        server.end(end_time=start + duration - 2 * MS)
        client.end(end_time=start + duration - MS)
        if i % LOST_EVERY == 0:   # a call to inventory that does not carry the context
            call = tg.start_span("POST", context=ctx, kind=SpanKind.CLIENT,
                                 start_time=start + MS, attributes={"peer.service": "inventory"})
            own = ti.start_span("POST /reserve", context=trace.set_span_in_context(
                trace.INVALID_SPAN), kind=SpanKind.SERVER, start_time=start + 2 * MS)
            own.end(end_time=start + 10 * MS)
            call.end(end_time=start + 11 * MS)
            lost += 1
        root.end(end_time=start + duration)
        durations.append(duration)
        errors += failed
    for p in (gateway, backend, inventory):
        assert p.force_flush(60_000)
        p.shutdown()
    return {"requests": N, "errors": errors, "durations": durations, "lost": lost}


def close(estimate: float, truth: float) -> bool:
    return abs(estimate - truth) <= TOLERANCE * truth


def test_numbers_are_estimates_of_the_truth(server_factory, tmp_path):
    server = server_factory("--config", str(write_config(tmp_path)), data_dir=tmp_path / "data")
    truth = send(server.grpc_endpoint)
    traces_sent = truth["requests"] + truth["lost"]        # inventory's own traces too
    deadline = time.monotonic() + 60
    decided = "spanhouse_tail_sampling_traces_decided_total"
    while time.monotonic() < deadline and server.metric(decided) < traces_sent:
        time.sleep(0.5)
    assert server.metric(decided) == traces_sent
    # the store holds a skewed sample: far fewer traces, most of them errors or slow
    stored = server.get("/api/v1/bottleneck", params={
        "service": "gateway", "operation": "GET /products", "since": "1h"})
    deadline = time.monotonic() + 30   # the exporter writes shortly after the decisions
    while (time.monotonic() < deadline and stored.status_code == 200
           and stored.json()["data"]["window"]["stored_traces"] < truth["errors"]):
        time.sleep(0.5)
        stored = server.get("/api/v1/bottleneck", params={
            "service": "gateway", "operation": "GET /products", "since": "1h"})
    assert stored.status_code == 200, stored.text
    true_rate = truth["errors"] / truth["requests"]
    true_median = statistics.median(truth["durations"])

    # the endpoint: estimated traces and the weighted median, not the stored ones
    window = stored.json()["data"]["window"]
    assert window["stored_traces"] < truth["requests"] * 0.5
    assert close(window["estimated_traces"], truth["requests"]), window
    assert close(window["median_duration_ms"] * MS, true_median), (window, true_median / MS)

    # errors by service: the estimated error rate is the truth; the stored one is not
    errors = server.get("/api/v1/errors", params={"since": "1h"}).json()["data"]
    by = {row["service"]: row for row in errors}
    assert [row["service"] for row in errors][:2] == ["backend", "gateway"]   # origin first
    assert (by["backend"]["role"], by["gateway"]["role"]) == ("origin", "propagates")
    for service in ("backend", "gateway"):
        assert close(by[service]["estimated_error_rate"], true_rate), (by[service], true_rate)
        assert close(by[service]["estimated_requests"], truth["requests"]), by[service]
    assert by["backend"]["error_rate"] > 2 * true_rate       # stored: errors are all kept
    series = by["backend"]["series"]
    assert sum(b["errors"] for b in series) == by["backend"]["estimated_error_requests"]
    assert by["backend"]["top_operations"][0]["label"] == "GET /products"
    assert by["backend"]["top_messages"][0]["message"] == "db timeout"

    # the service map: estimated calls and error rate on the edge; the lost context
    edges = server.get("/api/v1/dependencies", params={"since": "1h"}).json()["data"]
    edge = {(e["parent"], e["child"], e["kind"]): e for e in edges}
    call = edge[("gateway", "backend", "call")]
    assert close(call["calls"], truth["requests"]), call
    assert close(call["error_rate"], true_rate), (call, true_rate)
    assert call["stored_calls"] < call["calls"] and call["p50_ms"] is not None
    lost = edge[("gateway", "inventory", "context_lost")]
    assert lost["peer"] == "inventory" and lost["stored_calls"] < lost["calls"]
    assert ("gateway", "inventory", "call") not in edge

    # Jaeger's dependencies: callCount is the estimate
    jaeger = server.get("/api/dependencies", params={"lookback": str(3600 * 1000)}).json()
    counts = {(d["parent"], d["child"]): d["callCount"] for d in jaeger["data"]}
    assert close(counts[("gateway", "backend")], truth["requests"]), counts
    assert ("gateway", "inventory") not in counts

    # TraceQL metrics on the Tempo port (issue 15): weighted by AdjustedCount, so they
    # estimate the truth where the stored spans alone would not
    tempo = TempoMetrics(server.tempo_url)
    backend_errors = '{ resource.service.name = "backend" && status = error }'
    assert close(tempo.instant(backend_errors + " | count_over_time()"), truth["errors"])
    assert close(tempo.instant('{ resource.service.name = "backend" } | count_over_time()'),
                 truth["requests"])
    per_service = tempo.range("{ status = error } | rate() by (resource.service.name)", step_s=60)
    assert close(per_service["backend"] * 60, truth["errors"]), (per_service, truth["errors"])
    assert close(per_service["gateway"] * 60, 2 * truth["errors"])   # the root and the client

    # the same numbers on the pages, in a real browser (the number a user reads)
    on_page = read_pages(server.ui_url)
    assert close(on_page["error_rate"], true_rate), (on_page, true_rate)
    assert close(on_page["median_ms"] * MS, true_median), (on_page, true_median / MS)
    assert close(on_page["edge_error_rate"], true_rate), (on_page, true_rate)
    assert server.stop() == 0


class TempoMetrics:
    """Grafana Tempo's metrics endpoints of a server, over the last hour."""

    def __init__(self, url: str):
        self.url = url

    def _get(self, path: str, q: str, **params) -> dict:
        now = int(time.time())
        answer = httpx.get(self.url + path, params={"q": q, "start": now - 3600, "end": now + 60,
                                                    **params}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Spanhouse-Sampling-Aware"] == "true"
        return answer.json()

    def instant(self, q: str) -> float:
        """The value of the query's one series."""
        (series,) = self._get("/api/metrics/query", q)["series"]
        return float(series["value"])

    def range(self, q: str, step_s: int) -> dict[str, float]:
        """Sum over the steps of each series, by its one label's value."""
        out = {}
        for series in self._get("/api/metrics/query_range", q, step=f"{step_s}s")["series"]:
            (label,) = series["labels"]
            out[label["value"]["stringValue"]] = sum(float(x["value"]) for x in series["samples"])
        return out


def parse_ms(text: str) -> float:
    """``"105 ms"`` / ``"1.2 s"`` (the UI's fmtMs) in milliseconds."""
    value, unit = text.split()
    return float(value) * {"µs": 1e-3, "ms": 1.0, "s": 1000.0}[unit]


def read_pages(ui_url: str) -> dict:
    """The errors page's estimated error rate of backend, the bottleneck page's endpoint
    median and the service map's gateway -> backend error rate, as Chromium shows them."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the page half needs the Debian package chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
        page.set_default_timeout(15_000)
        page.goto(f"{ui_url}/errors?since=1h")
        rate = page.inner_text("#errors-table tr[data-service=backend] [data-testid=error-rate]")
        page.goto(f"{ui_url}/bottleneck?since=1h&endpoint=gateway+GET+%2Fproducts")
        median = page.inner_text("[data-testid=endpoint-median]")
        page.goto(f"{ui_url}/map?since=1h")
        edge = page.text_content("#service-map g[data-edge='gateway->backend'][data-kind=call] "
                                 "[data-testid=edge-error-rate]")   # an SVG tspan
        browser.close()
    return {"error_rate": float(rate.rstrip("%")) / 100, "median_ms": parse_ms(median),
            "edge_error_rate": float(edge.split("%")[0]) / 100}
