"""Overload means backpressure, never a silent drop; SIGTERM loses nothing acknowledged."""

from __future__ import annotations

import signal
import threading
import time

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from bench.workload import make_request
from tests.conftest import stored_span_counts
from tests.e2e.disk import small_disk
from tests.e2e.store_config import store_config

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def count_spans(server, trace_ids) -> int:
    total = 0
    for trace_id in trace_ids:
        r = server.get(f"/api/traces/{trace_id}")
        if r.status_code == 200:
            total += len(r.json()["data"][0]["spans"])
    return total


def test_full_log_pushes_back_and_sdk_retries_until_everything_is_stored(server_factory, tmp_path):
    """The store stalls (its disk is full), the small write-ahead log fills, senders are told
    to retry; once the store has room again, every span the SDKs sent is stored."""
    with small_disk(tmp_path / "store", 64) as disk:
        config = store_config(tmp_path / "stalled.yaml", disk.path / "store")
        server = server_factory("--config", str(config), "--wal-max-bytes", str(1024 * 1024))
        disk.fill()
        traces_per_sender, spans_per_trace = 250, 30  # ~3 MiB of OTLP: three times the log
        trace_ids: list[str] = []
        lock = threading.Lock()

        def sender(exporter, name: str) -> None:
            provider = TracerProvider(resource=Resource.create({"service.name": name}))
            # Large SDK queue: the SDK itself must not drop; only the server pushes back.
            provider.add_span_processor(BatchSpanProcessor(
                exporter, max_queue_size=100_000, max_export_batch_size=256,
                schedule_delay_millis=50))
            tracer = provider.get_tracer("load")
            for _ in range(traces_per_sender):
                with tracer.start_as_current_span("root") as root:
                    with lock:
                        trace_ids.append(f"{root.get_span_context().trace_id:032x}")
                    for i in range(spans_per_trace - 1):
                        with tracer.start_as_current_span(f"child-{i}"):
                            pass
            assert provider.force_flush(timeout_millis=120_000)
            provider.shutdown()

        exporters = [GrpcExporter(endpoint=f"http://{server.grpc_endpoint}", insecure=True, timeout=60),
                     GrpcExporter(endpoint=f"http://{server.grpc_endpoint}", insecure=True, timeout=60),
                     HttpExporter(endpoint=f"{server.http_url}/v1/traces", timeout=60),
                     HttpExporter(endpoint=f"{server.http_url}/v1/traces", timeout=60)]
        threads = [threading.Thread(target=sender, args=(e, f"svc-{i}"))
                   for i, e in enumerate(exporters)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while (server.metric("spanhouse_spans_refused_total", reason="overloaded") == 0
               and time.monotonic() < deadline):
            time.sleep(0.2)
        refused = server.metric("spanhouse_spans_refused_total", reason="overloaded")
        assert refused > 0, "the full log never pushed back: the test did not exercise overload"
        assert server.get("/readyz").status_code == 503
        disk.free()
        for t in threads:
            t.join(300)

        sent = len(exporters) * traces_per_sender * spans_per_trace
        deadline = time.monotonic() + 30
        while server.metric("spanhouse_spans_stored_total") < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.metric("spanhouse_spans_stored_total") == sent
        assert count_spans(server, trace_ids) == sent



def test_sigterm_during_load_keeps_every_acknowledged_span(server_factory, tmp_path):
    data_dir = tmp_path / "sigterm-data"
    server = server_factory(data_dir=data_dir)
    acked: dict[str, int] = {}
    stop = threading.Event()
    errors: list[str] = []

    def load(worker: int) -> None:
        channel = grpc.insecure_channel(server.grpc_endpoint)
        export = channel.unary_unary(EXPORT, request_serializer=None,
                                     response_deserializer=ExportTraceServiceResponse.FromString)
        while not stop.is_set():
            request, trace_ids = make_request(10, 20, service=f"worker-{worker}")
            try:
                export(request.SerializeToString(), timeout=10)
            except grpc.RpcError as exc:
                errors.append(exc.code().name)  # refused or server gone: not acknowledged
                if exc.code() == grpc.StatusCode.UNAVAILABLE:
                    return
                continue
            for trace_id in trace_ids:
                acked[trace_id] = 20
        channel.close()

    workers = [threading.Thread(target=load, args=(w,)) for w in range(3)]
    for w in workers:
        w.start()
    time.sleep(3)
    assert acked, "no request was acknowledged before the signal"
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0, "".join(server.output)
    stop.set()
    for w in workers:
        w.join(30)
    acknowledged = dict(acked)

    assert "shutting down" in "".join(server.output)

    # A restart on the same data directory serves them...
    restarted = server_factory(data_dir=data_dir)
    sample = list(acknowledged)[:: max(1, len(acknowledged) // 50)]
    assert count_spans(restarted, sample) == sum(acknowledged[t] for t in sample)
    assert restarted.stop() == 0
    # ...and every acknowledged span is in the store.
    stored = stored_span_counts(data_dir)
    missing = [t for t, n in acknowledged.items() if stored.get(t, 0) != n]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged traces incomplete after restart"
