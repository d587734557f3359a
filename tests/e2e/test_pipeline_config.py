"""Collector configs end to end: fan-out to several exporters, late spans after a tail
decision, the num_traces bound in /metrics, and head sampling, with the real OTel SDK sending
over OTLP/gRPC to a real ``spanhouse serve``."""

from __future__ import annotations

import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

from tests.conftest import store_query, stored_span_counts


def provider_for(endpoint: str, service: str = "shop") -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
        max_queue_size=20_000, max_export_batch_size=500, schedule_delay_millis=50))
    return provider


def send_trace(tracer, error: bool = False) -> tuple[str, SpanContext]:
    with tracer.start_as_current_span("GET /checkout") as root:
        with tracer.start_as_current_span("charge_payment") as child:
            if error:
                child.set_status(Status(StatusCode.ERROR, "declined"))
    ctx = root.get_span_context()
    return format(ctx.trace_id, "032x"), ctx


def send_late_span(tracer, parent: SpanContext) -> None:
    """A span of an existing trace that arrives after the trace was decided."""
    context = trace.set_span_in_context(NonRecordingSpan(parent))
    tracer.start_span("send_confirmation", context=context).end()


def config(tmp_path: Path, processors: str, pipeline_processors: str, exporters: str = "",
           pipeline_exporters: str = "[clickhouse]") -> str:
    path = tmp_path / "collector.yaml"
    path.write_text(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
        f"processors:\n{processors}\n"
        f"exporters:\n  clickhouse:\n    endpoint: chdb://{tmp_path / 'data'}\n{exporters}\n"
        "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"
        f"      processors: {pipeline_processors}\n      exporters: {pipeline_exporters}\n")
    return str(path)


def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    assert predicate()


def test_every_exporter_of_the_pipeline_receives_the_spans(server_factory, tmp_path):
    backend = server_factory(data_dir=tmp_path / "backend")
    path = config(tmp_path, "  batch:\n    timeout: 100ms", "[batch]",
                  exporters=(f"  otlp/backend:\n    endpoint: {backend.grpc_endpoint}\n"
                             "    tls:\n      insecure: true\n  debug:\n    verbosity: basic\n"),
                  pipeline_exporters="[clickhouse, otlp/backend, debug]")
    front = server_factory("--config", path, data_dir=tmp_path / "data")
    provider = provider_for(front.grpc_endpoint)
    trace_id, _ = send_trace(provider.get_tracer("t"))
    provider.force_flush()
    for server in (front, backend):
        body = server.wait_for_spans(trace_id, 2)
        assert {s["operationName"] for s in body["data"][0]["spans"]} == {"GET /checkout", "charge_payment"}
    assert front.metric("spanhouse_exporter_sent_spans_total", exporter="otlp/backend") == 2
    provider.shutdown()


def test_late_spans_follow_the_decision_and_num_traces_is_bounded(server_factory, tmp_path):
    path = config(tmp_path, (
        "  tail_sampling:\n    decision_wait: 1s\n    num_traces: 40\n"
        "    decision_cache: {sampled_cache_size: 1000, non_sampled_cache_size: 1000}\n"
        "    policies:\n      - name: errors\n        type: status_code\n"
        "        status_code: {status_codes: [ERROR]}\n"), "[tail_sampling]")
    server = server_factory("--config", path, data_dir=tmp_path / "data")
    provider = provider_for(server.grpc_endpoint)
    tracer = provider.get_tracer("t")
    kept_id, kept_ctx = send_trace(tracer, error=True)
    dropped_id, dropped_ctx = send_trace(tracer)
    provider.force_flush()
    wait_for(lambda: server.metric("spanhouse_tail_sampling_traces_decided_total") >= 2)
    send_late_span(tracer, kept_ctx)
    send_late_span(tracer, dropped_ctx)
    provider.force_flush()
    wait_for(lambda: server.metric("spanhouse_tail_sampling_late_spans_total") >= 2)
    assert server.metric("spanhouse_tail_sampling_late_spans_total", decision="sampled") == 1
    assert server.metric("spanhouse_tail_sampling_late_spans_total", decision="not_sampled") == 1

    # 200 new traces at once into a buffer of 40: the oldest are evicted, and counted.
    for _ in range(200):
        send_trace(tracer)
    provider.force_flush()
    wait_for(lambda: server.metric("spanhouse_tail_sampling_traces_evicted_total", reason="num_traces") > 0)
    assert server.metric("spanhouse_tail_sampling_buffer_traces") <= 40
    assert server.metric("spanhouse_tail_sampling_buffer_capacity_traces") == 40
    provider.shutdown()
    assert server.stop() == 0

    counts = stored_span_counts(tmp_path / "data")
    assert counts.get(kept_id) == 3          # the late span of the kept trace is stored
    assert dropped_id not in counts          # the dropped trace's is not


def test_seed_probabilistic_sampler_keeps_about_10_percent(server_factory, tmp_path):
    path = config(tmp_path, "  probabilistic_sampler:\n    sampling_percentage: 10\n",
                  "[probabilistic_sampler]")
    server = server_factory("--config", path, data_dir=tmp_path / "data")
    provider = provider_for(server.grpc_endpoint)
    tracer = provider.get_tracer("t")
    sent = [send_trace(tracer)[0] for _ in range(1000)]
    provider.shutdown()
    wait_for(lambda: server.metric("spanhouse_spans_received_total") >= 2000)
    time.sleep(1)
    assert server.stop() == 0
    rows = store_query(tmp_path / "data",
                       "SELECT TraceId, count(), any(TraceState), any(AdjustedCount), "
                       "any(SamplingPolicy) FROM default.otel_traces GROUP BY TraceId")
    assert 50 <= len(rows) <= 150                     # 10% of 1000, about ±5 sigma
    assert {r[0] for r in rows} <= set(sent)
    for trace_id, count, trace_state, adjusted, policy in rows:
        assert count == 2                             # whole traces: the decision is per trace id
        assert trace_state.startswith("ot=") and "th:" in trace_state
        # 1/p of hash_seed's 14-bit threshold (1638 of 16384 buckets) = 10.0024
        assert abs(adjusted - 16384 / 1638) < 1e-9 and policy == "probabilistic_sampler"
