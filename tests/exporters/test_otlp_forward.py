"""The ``otlp`` and ``otlphttp`` exporters over real sockets.

A real ``spanhouse serve`` is the receiving backend: a batch goes out through each exporter and
``GET /api/traces/{id}`` must give every span back intact. Retry, permanent errors and
throttling are checked against small scripted stub servers (plain ``http.server`` and a grpcio
server), and against a real server that starts only after the first attempt failed.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from concurrent import futures

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanhouse.api.jaeger_json import jaeger_span_id, key_value
from spanhouse.component import BuildContext
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.exporters.otlp import (
    OTLP_FACTORY, OTLPHTTP_FACTORY, OtlpGrpcExporter, OtlpHttpExporter, RetrySettings,
    parse_retry_after,
)
from spanhouse.model.attributes import TYPE_NAMES, decode_typed
from spanhouse.model.enums import StatusCode
from spanhouse.model.otlp_proto import decode_proto_bytes
from spanhouse.telemetry import Telemetry
from tests.exporters import SPANS_PER_TRACE, make_batch

FAST_RETRY = {"initial_interval": "50ms", "max_interval": "200ms", "max_elapsed_time": "20s"}


FACTORIES = {f.type: f for f in (OTLP_FACTORY, OTLPHTTP_FACTORY)}


def from_config(name: str, section: Section, telemetry: Telemetry):
    """Build exporter ``name`` (``otlp``, ``otlphttp/x``) through its component factory."""
    factory = FACTORIES[name.split("/", 1)[0]]
    return factory.create(name, section, BuildContext(telemetry))


def metric(telemetry: Telemetry, name: str, exporter: str) -> float:
    return telemetry.registry.get_sample_value(name, {"exporter": exporter}) or 0.0


def build(kind: str, name: str, settings: dict, telemetry: Telemetry):
    exporter = from_config(name, Section(settings, f"exporters.{name}"), telemetry)
    exporter.start()
    return exporter


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ checking a stored trace
def expected_tags(items) -> dict:
    tags = {}
    for key, text, code in items:
        tag = key_value(key, decode_typed(text, TYPE_NAMES[code]))
        tags[key] = (tag["type"], tag["value"])
    return tags


def check_trace(batch, trace: dict) -> None:
    """Every span of ``batch`` is in the Jaeger JSON trace with its name, parent, times,
    typed attributes, events, links, scope and resource."""
    by_id = {s["spanID"]: s for s in trace["spans"]}
    assert set(by_id) == {jaeger_span_id(s) for s in batch.span_id}
    for i in range(len(batch)):
        got = by_id[jaeger_span_id(batch.span_id[i])]
        assert got["operationName"] == batch.name[i]
        assert got["startTime"] == batch.start_ns[i] // 1000
        assert got["duration"] == (batch.end_ns[i] - batch.start_ns[i]) // 1000
        tags = {t["key"]: (t["type"], t["value"]) for t in got["tags"]}
        for key, want in expected_tags(batch.attributes.set_items(i)).items():
            assert tags[key] == want, key
        if batch.scope_name[batch.scope_index[i]]:
            assert tags["otel.scope.name"] == ("string", batch.scope_name[batch.scope_index[i]])
        if batch.status_code[i] == StatusCode.ERROR:
            assert tags["error"] == ("bool", True)
            assert tags["otel.status_description"] == ("string", batch.status_message[i])
        if batch.trace_state[i]:
            assert tags["w3c.tracestate"] == ("string", batch.trace_state[i])
        parents = [r["spanID"] for r in got["references"] if r["refType"] == "CHILD_OF"]
        want_parent = [jaeger_span_id(batch.parent_span_id[i])] if batch.parent_span_id[i] else []
        assert parents[:1] == want_parent
        lo, hi = batch.event_offsets[i], batch.event_offsets[i + 1]
        assert len(got["logs"]) == hi - lo
        for log, e in zip(got["logs"], range(lo, hi)):
            assert log["timestamp"] == batch.event_time_ns[e] // 1000
            fields = {f["key"]: (f["type"], f["value"]) for f in log["fields"]}
            assert fields["event"] == ("string", batch.event_name[e])
            for key, want in expected_tags(batch.event_attributes.set_items(e)).items():
                assert fields[key] == want
        lo, hi = batch.link_offsets[i], batch.link_offsets[i + 1]
        linked = {(r["traceID"], r["spanID"]) for r in got["references"]}
        for k in range(lo, hi):
            assert (batch.link_trace_id[k], jaeger_span_id(batch.link_span_id[k])) in linked
        process = trace["processes"][got["processID"]]
        assert process["serviceName"] == batch.service_of(i)
        ptags = {t["key"]: (t["type"], t["value"]) for t in process["tags"]}
        items = batch.resource_attributes.set_items(batch.resource_index[i])
        for key, want in expected_tags(items).items():
            if key != "service.name":
                assert ptags[key] == want


# ------------------------------------------------------------------ the real backend
@pytest.mark.parametrize("kind,compression", [
    ("otlp", "gzip"), ("otlp", "none"), ("otlphttp", "gzip"), ("otlphttp", "none"),
])
def test_forward_to_a_real_spanhouse(server, kind, compression):
    batch, trace_id = make_batch()
    telemetry = Telemetry()
    name = f"{kind}/backup"
    if kind == "otlp":
        settings = {"endpoint": server.grpc_endpoint, "tls": {"insecure": True},
                    "headers": {"X-Tenant": "t1"}}
    else:
        settings = {"endpoint": server.http_url, "headers": {"X-Tenant": "t1"}}
    settings.update(compression=compression, timeout="10s", retry_on_failure=FAST_RETRY)
    exporter = build(kind, name, settings, telemetry)
    try:
        exporter.export(batch)
        assert exporter.flush(30)
        body = server.wait_for_spans(trace_id, SPANS_PER_TRACE)
        assert body["errors"] is None
        check_trace(batch, body["data"][0])
        assert metric(telemetry, "spanhouse_exporter_sent_spans_total", name) == SPANS_PER_TRACE
        assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", name) == 0
        receiver = "otlp_grpc" if kind == "otlp" else "otlp_http"
        assert server.metric("spanhouse_spans_received_total", receiver=receiver) == SPANS_PER_TRACE
    finally:
        assert exporter.shutdown(10)


@pytest.mark.parametrize("kind", ["otlp", "otlphttp"])
def test_retries_until_the_backend_comes_up(server_factory, kind):
    """The first attempts hit a port where nothing listens; then spanhouse starts there."""
    port = free_port()
    telemetry = Telemetry()
    if kind == "otlp":
        settings = {"endpoint": f"127.0.0.1:{port}", "tls": {"insecure": True}}
        flag = "--grpc"
    else:
        settings = {"endpoint": f"http://127.0.0.1:{port}"}
        flag = "--http"
    settings["retry_on_failure"] = {"initial_interval": "100ms", "max_interval": "500ms",
                                    "max_elapsed_time": "0"}  # retry until it works
    settings["timeout"] = "2s"
    exporter = build(kind, kind, settings, telemetry)
    batch, trace_id = make_batch()
    exporter.export(batch)
    deadline = time.monotonic() + 10
    while metric(telemetry, "spanhouse_exporter_send_retries_total", kind) < 1:
        assert time.monotonic() < deadline, "no failed attempt was seen"
        time.sleep(0.05)
    server = server_factory(flag, f"127.0.0.1:{port}")
    assert exporter.flush(60)
    server.wait_for_spans(trace_id, SPANS_PER_TRACE)
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", kind) == SPANS_PER_TRACE
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", kind) == 0
    assert exporter.shutdown(10)


def test_shutdown_drains_the_queue_into_the_backend(server):
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": server.http_url,
                                              "sending_queue": {"num_consumers": 2}}, telemetry)
    traces = []
    for _ in range(6):
        batch, trace_id = make_batch()
        exporter.export(batch)
        traces.append(trace_id)
    assert exporter.shutdown(30)  # no flush: shutdown itself sends what is queued
    for trace_id in traces:
        server.wait_for_spans(trace_id, SPANS_PER_TRACE)
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp") == 6 * SPANS_PER_TRACE
    with pytest.raises(Overloaded):
        exporter.export(make_batch()[0])  # closed: refused, not dropped silently


# ------------------------------------------------------------------ scripted stub servers
class StubHttp:
    """An OTLP/HTTP endpoint answering from a script of (status, headers, body)."""

    def __init__(self, script, block: threading.Event | None = None):
        self.script = list(script)
        self.requests: list[tuple[dict, bytes]] = []
        self.block = block
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append((dict(self.headers), body))
                if stub.block is not None:
                    stub.block.wait(30)
                status, headers, payload = (stub.script.pop(0) if stub.script
                                            else (200, {}, b""))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        if self.block is not None:
            self.block.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub_http():
    stubs = []

    def make(script, **kw):
        stubs.append(StubHttp(script, **kw))
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()


def rpc_status(code: int, message: str) -> bytes:
    return status_pb2.Status(code=code, message=message).SerializeToString()


def test_http_503_once_then_success(stub_http):
    stub = stub_http([(503, {"Retry-After": "0", "Content-Type": "application/x-protobuf"},
                       rpc_status(14, "warming up"))])
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp/stub", {
        "traces_endpoint": stub.url + "/custom/path", "retry_on_failure": FAST_RETRY,
        "headers": {"Authorization": "Bearer abc"}}, telemetry)
    batch, _ = make_batch()
    exporter.export(batch)
    assert exporter.flush(10)
    assert len(stub.requests) == 2
    headers, body = stub.requests[1]
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Authorization"] == "Bearer abc"
    assert headers["User-Agent"].startswith("spanhouse/")
    import gzip
    assert decode_proto_bytes(gzip.decompress(body)).batch == batch
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp/stub") == SPANS_PER_TRACE
    assert metric(telemetry, "spanhouse_exporter_send_retries_total", "otlphttp/stub") == 1
    exporter.shutdown(5)


@pytest.mark.parametrize("status", [400, 401, 404, 413, 500])
def test_http_permanent_errors_are_not_retried(stub_http, status, caplog):
    stub = stub_http([(status, {"Content-Type": "application/x-protobuf"},
                       rpc_status(3, "bad spans"))] * 3)
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url + "/",
                                              "retry_on_failure": FAST_RETRY}, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert len(stub.requests) == 1
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == SPANS_PER_TRACE
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp") == 0
    assert f"HTTP Status Code {status}" in caplog.text and "bad spans" in caplog.text
    exporter.shutdown(5)


def test_http_retry_after_is_honoured(stub_http):
    stub = stub_http([(429, {"Retry-After": "1"}, b"")])
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url, "compression": "none",
                                              "retry_on_failure": FAST_RETRY}, telemetry)
    started = time.monotonic()
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert time.monotonic() - started >= 0.9  # waited the server's 1s, not the 50ms backoff
    assert len(stub.requests) == 2
    assert "Content-Encoding" not in stub.requests[0][0]
    exporter.shutdown(5)


def test_retries_give_up_after_max_elapsed_time(stub_http):
    stub = stub_http([(502, {}, b"")] * 100)
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url, "retry_on_failure": {
        "initial_interval": "50ms", "max_interval": "100ms", "max_elapsed_time": "300ms",
        "randomization_factor": 0}}, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert 2 <= len(stub.requests) <= 8
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == SPANS_PER_TRACE
    exporter.shutdown(5)


def test_retry_disabled_means_one_attempt(stub_http):
    stub = stub_http([(503, {}, b"")] * 3)
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url,
                                              "retry_on_failure": {"enabled": False}}, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert len(stub.requests) == 1
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == SPANS_PER_TRACE
    exporter.shutdown(5)


def test_partial_success_is_counted(stub_http):
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = 2
    response.partial_success.error_message = "2 spans too old"
    stub = stub_http([(200, {"Content-Type": "application/x-protobuf"},
                       response.SerializeToString())])
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url}, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp") == SPANS_PER_TRACE - 2
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == 2
    exporter.shutdown(5)


def test_queue_full_raises_overloaded(stub_http):
    release = threading.Event()
    stub = stub_http([], block=release)
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url, "sending_queue": {
        "num_consumers": 1, "queue_size": 2}}, telemetry)
    exporter.export(make_batch()[0])  # taken by the one consumer, blocked in the stub
    deadline = time.monotonic() + 5
    while not stub.requests:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    exporter.export(make_batch()[0])  # queued: 2 of 2 (in flight counts)
    assert metric(telemetry, "spanhouse_exporter_queue_size", "otlphttp") == 2
    with pytest.raises(Overloaded) as err:
        exporter.export(make_batch()[0])
    assert "queue" in str(err.value) and err.value.retry_after_s > 0
    assert metric(telemetry, "spanhouse_exporter_enqueue_failed_spans_total", "otlphttp") == SPANS_PER_TRACE
    release.set()
    assert exporter.flush(10)
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp") == 2 * SPANS_PER_TRACE
    exporter.export(make_batch()[0])  # room again
    assert exporter.shutdown(10)
    assert metric(telemetry, "spanhouse_exporter_queue_capacity", "otlphttp") == 2


def test_items_sizer_counts_spans(stub_http):
    release = threading.Event()
    stub = stub_http([], block=release)
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url, "sending_queue": {
        "num_consumers": 1, "queue_size": SPANS_PER_TRACE + 1, "sizer": "items"}}, telemetry)
    exporter.export(make_batch()[0])
    with pytest.raises(Overloaded):
        exporter.export(make_batch()[0])  # 5 + 5 spans > 6
    release.set()
    assert exporter.shutdown(10)


def test_shutdown_gives_up_at_its_deadline():
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {
        "endpoint": f"http://127.0.0.1:{free_port()}",
        "retry_on_failure": {"initial_interval": "10s", "max_elapsed_time": "0"}}, telemetry)
    exporter.export(make_batch()[0])
    time.sleep(0.3)  # the first attempt fails, the consumer sleeps 5-15s before the next
    started = time.monotonic()
    assert exporter.shutdown(0.5) is False
    assert time.monotonic() - started < 3
    deadline = time.monotonic() + 2
    while metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlphttp") == SPANS_PER_TRACE


def test_queue_disabled_sends_in_the_caller_and_pushes_back(stub_http):
    stub = stub_http([(503, {}, b"")])
    telemetry = Telemetry()
    exporter = build("otlphttp", "otlphttp", {"endpoint": stub.url,
                                              "sending_queue": {"enabled": False},
                                              "retry_on_failure": {"enabled": False}}, telemetry)
    with pytest.raises(Overloaded):  # retryable: the receiver tells its sender to retry
        exporter.export(make_batch()[0])
    exporter.export(make_batch()[0])  # the stub now answers 200
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlphttp") == SPANS_PER_TRACE
    assert exporter.shutdown(5)


class StubGrpc:
    """A TraceService answering from a script of (code, message, retry_delay_s | None)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple[bytes, dict]] = []
        stub = self

        def export(body, context):
            stub.requests.append((body, dict(context.invocation_metadata())))
            if stub.script:
                code, message, delay = stub.script.pop(0)
                trailers = ()
                if delay is not None:
                    info = error_details_pb2.RetryInfo(
                        retry_delay=duration_pb2.Duration(nanos=int(delay * 1e9)))
                    detail = status_pb2.Status(code=code.value[0], message=message)
                    detail.details.add().Pack(info)
                    trailers = (("grpc-status-details-bin", detail.SerializeToString()),)
                context.abort_with_status(_Status(code, message, trailers))
            return ExportTraceServiceResponse().SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(export)})
        self.server = grpc.server(futures.ThreadPoolExecutor(4))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def close(self):
        self.server.stop(0)


class _Status(grpc.Status):
    def __init__(self, code, details, trailing_metadata):
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


@pytest.fixture
def stub_grpc():
    stubs = []

    def make(script):
        stubs.append(StubGrpc(script))
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()


def grpc_exporter(stub: StubGrpc, telemetry: Telemetry, **extra):
    settings = {"endpoint": f"127.0.0.1:{stub.port}", "tls": {"insecure": True},
                "retry_on_failure": FAST_RETRY, **extra}
    return build("otlp", "otlp", settings, telemetry)


def test_grpc_unavailable_once_then_success(stub_grpc):
    stub = stub_grpc([(grpc.StatusCode.UNAVAILABLE, "warming up", None)])
    telemetry = Telemetry()
    exporter = grpc_exporter(stub, telemetry, headers={"X-Tenant": "t1"}, compression="none")
    batch, _ = make_batch()
    exporter.export(batch)
    assert exporter.flush(10)
    assert len(stub.requests) == 2
    body, metadata = stub.requests[1]
    assert metadata["x-tenant"] == "t1"
    assert decode_proto_bytes(body).batch == batch
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlp") == SPANS_PER_TRACE
    exporter.shutdown(5)


@pytest.mark.parametrize("code", [grpc.StatusCode.INVALID_ARGUMENT,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED,  # without RetryInfo
                                  grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL])
def test_grpc_permanent_errors_are_not_retried(stub_grpc, code, caplog):
    stub = stub_grpc([(code, "nope", None)] * 3)
    telemetry = Telemetry()
    exporter = grpc_exporter(stub, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert len(stub.requests) == 1
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total", "otlp") == SPANS_PER_TRACE
    assert code.name in caplog.text
    exporter.shutdown(5)


def test_grpc_resource_exhausted_with_retry_info_is_retried_after_the_delay(stub_grpc):
    stub = stub_grpc([(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", 0.6)])
    telemetry = Telemetry()
    exporter = grpc_exporter(stub, telemetry)
    started = time.monotonic()
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert time.monotonic() - started >= 0.5
    assert len(stub.requests) == 2
    assert metric(telemetry, "spanhouse_exporter_sent_spans_total", "otlp") == SPANS_PER_TRACE
    exporter.shutdown(5)


def test_grpc_deadline_exceeded_is_retried(stub_grpc):
    stub = stub_grpc([(grpc.StatusCode.DEADLINE_EXCEEDED, "too slow", None),
                      (grpc.StatusCode.ABORTED, "conflict", None)])
    telemetry = Telemetry()
    exporter = grpc_exporter(stub, telemetry)
    exporter.export(make_batch()[0])
    assert exporter.flush(10)
    assert len(stub.requests) == 3
    assert metric(telemetry, "spanhouse_exporter_send_retries_total", "otlp") == 2
    exporter.shutdown(5)


# ------------------------------------------------------------------ configuration
def config_error(name: str, settings: dict) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        from_config(name, Section(settings, f"exporters.{name}"), Telemetry())
    return err.value


def test_typo_names_the_key_and_suggests():
    err = config_error("otlp", {"endpont": "x:4317"})
    assert err.key == "exporters.otlp.endpont"
    assert 'did you mean "endpoint"' in str(err)
    err = config_error("otlphttp/a", {"endpoint": "http://x", "retry_on_failure": {
        "initial_intervall": "1s"}})
    assert err.key == "exporters.otlphttp/a.retry_on_failure.initial_intervall"
    assert 'did you mean "initial_interval"' in str(err)
    err = config_error("otlp", {"endpoint": "x:1", "sending_queue": {"queue_sise": 5}})
    assert err.key == "exporters.otlp.sending_queue.queue_sise" and "queue_size" in str(err)


@pytest.mark.parametrize("kind", ["otlp", "otlphttp"])
def test_bad_compression(kind):
    endpoint = "x:4317" if kind == "otlp" else "http://x:4318"
    err = config_error(kind, {"endpoint": endpoint, "compression": "gzipp"})
    assert err.key == f"exporters.{kind}.compression"
    assert 'did you mean "gzip"' in str(err)
    err = config_error(kind, {"endpoint": endpoint, "compression": "zstd"})
    assert "not supported" in str(err) and "gzip" in str(err)


def test_other_config_errors():
    assert config_error("otlp", {}).key == "exporters.otlp.endpoint"
    assert "port" in str(config_error("otlp", {"endpoint": "backend"}))
    assert "invalid port" in str(config_error("otlp", {"endpoint": "backend:http"}))
    err = config_error("otlphttp", {})
    assert err.key == "exporters.otlphttp.endpoint" and "traces_endpoint" in str(err)
    assert config_error("otlphttp", {"endpoint": "ftp://x"}).key == "exporters.otlphttp.endpoint"
    err = config_error("otlphttp", {"endpoint": "http://x", "encoding": "json"})
    assert "not supported" in str(err)
    err = config_error("otlp", {"endpoint": "x:1", "sending_queue": {"queue_size": 0}})
    assert err.key == "exporters.otlp.sending_queue.queue_size"
    err = config_error("otlp", {"endpoint": "x:1", "retry_on_failure": {
        "initial_interval": "10s", "max_elapsed_time": "5s"}})
    assert err.key == "exporters.otlp.retry_on_failure.max_elapsed_time"
    err = config_error("otlp", {"endpoint": "x:1", "retry_on_failure": {
        "randomization_factor": 2}})
    assert "maximum" in str(err)
    err = config_error("otlp", {"endpoint": "x:1", "timeout": "5 seconds"})
    assert err.key == "exporters.otlp.timeout"
    err = config_error("otlp", {"endpoint": "x:1", "tls": {"ca_file": "/nonexistent/ca.pem"}})
    assert err.key == "exporters.otlp.tls.ca_file"
    err = config_error("otlp", {"endpoint": "x:1", "auth": {"authenticator": "oauth2client"}})
    assert "headers" in str(err)
    err = config_error("otlp", {"endpoint": "x:1", "sending_queue": {"storage": "file_storage"}})
    assert err.key == "exporters.otlp.sending_queue.storage"


def test_config_defaults_and_urls():
    t = Telemetry()
    e = from_config("otlp", Section({"endpoint": "https://backend:4317"}, "exporters.otlp"), t)
    assert isinstance(e, OtlpGrpcExporter)
    assert (e.target, e.use_tls, e.compression, e.timeout_s) == ("backend:4317", True, "gzip", 5.0)
    assert e.retry == RetrySettings()
    assert (e.queue_settings.num_consumers, e.queue_settings.queue_size) == (10, 1000)
    e = from_config("otlp/b", Section({"endpoint": "backend:4317", "tls": {"insecure": True},
                                       "retry_on_failure": {"max_elapsed_time": 0}},
                                      "exporters.otlp/b"), t)
    assert not e.use_tls and e.retry.max_elapsed_time == 0
    h = from_config("otlphttp", Section({"endpoint": "http://b:4318/base/"}, "x"), t)
    assert isinstance(h, OtlpHttpExporter)
    assert h.url == "http://b:4318/base/v1/traces" and h.timeout_s == 30.0
    h = from_config("otlphttp", Section({"endpoint": "http://b:4318",
                                         "traces_endpoint": "https://c/t"}, "x"), t)
    assert h.url == "https://c/t"


def test_retry_schedule_and_retry_after_parsing():
    r = RetrySettings(initial_interval=1, multiplier=2, max_interval=5, randomization_factor=0)
    assert [r.interval(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    r = RetrySettings(initial_interval=1, randomization_factor=0.5)
    assert all(0.5 <= r.randomized(1) <= 1.5 for _ in range(100))
    assert parse_retry_after("7") == 7
    assert parse_retry_after("") == 0 and parse_retry_after("soon") == 0
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0  # in the past: 0
