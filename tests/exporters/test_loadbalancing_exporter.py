"""The ``loadbalancing`` exporter against real ``spanhouse serve`` backends over real gRPC:
every trace lands whole on exactly the backend the collector's ring picks, ``service``
routing follows the service, a backend stopped mid-run hands its share to the next backend
on the ring with nothing lost, and a batch no backend took stays held for the log."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import pytest

from spanhouse.config.section import Section
from spanhouse.errors import Overloaded
from spanhouse.exporters.loadbalancing import LoadBalancingExporter, parse_settings
from spanhouse.exporters.loadbalancing.resolver import DnsResolver, ResolverMetrics
from spanhouse.exporters.loadbalancing.ring import HashRing
from spanhouse.exporters.otlp import GrpcSettings, OtlpGrpcExporter, QueueSettings
from spanhouse.model.batch import SpanBatch
from spanhouse.telemetry import Telemetry
from tests.conftest import stored_span_counts
from tests.exporters import SPANS_PER_TRACE, make_batch


def settings(hostnames, routing_key="traceID", max_elapsed="1s"):
    return parse_settings(Section({
        "routing_key": routing_key,
        "protocol": {"otlp": {
            "timeout": "2s", "tls": {"insecure": True},
            "retry_on_failure": {"initial_interval": "50ms", "max_interval": "200ms",
                                 "max_elapsed_time": max_elapsed},
            "sending_queue": {"num_consumers": 2}}},
        "resolver": {"static": {"hostnames": list(hostnames)}},
    }, "exporters.loadbalancing"))


def traces(n: int) -> tuple[SpanBatch, list[str]]:
    """One batch of ``n`` whole traces (5 spans each, two services)."""
    batches, ids = zip(*(make_batch() for _ in range(n)))
    return SpanBatch.concat(batches), list(ids)


def metric(telemetry: Telemetry, name: str, **labels) -> float:
    total = 0.0
    for line in telemetry.render()[0].decode().splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def where_stored(backends) -> dict[str, dict[str, int]]:
    """Stop every backend (a clean stop stores what it acknowledged) and read each store:
    trace id -> {backend endpoint: spans}."""
    found: dict[str, dict[str, int]] = {}
    for server in backends:
        endpoint = server.grpc_endpoint
        server.stop()
        for trace_id, count in stored_span_counts(server.data_dir).items():
            found.setdefault(trace_id, {})[endpoint] = count
    return found


def start_backends(server_factory, tmp_path, n: int):
    return [server_factory(data_dir=tmp_path / f"backend-{i}") for i in range(n)]


def test_every_trace_lands_whole_on_the_rings_backend(server_factory, tmp_path):
    backends = start_backends(server_factory, tmp_path, 3)
    telemetry = Telemetry()
    exporter = LoadBalancingExporter("loadbalancing", telemetry,
                                     settings(b.grpc_endpoint for b in backends))
    exporter.start()
    batch, ids = traces(60)
    exporter.export(batch)
    assert exporter.flush(30)
    assert exporter.held_seq() is None
    ring = exporter.backends.ring
    assert exporter.shutdown(5)
    found = where_stored(backends)
    for trace_id in ids:
        expected = ring.endpoint_for(bytes.fromhex(trace_id))
        assert found.get(trace_id) == {expected: SPANS_PER_TRACE}, trace_id
    used = {next(iter(found[t])) for t in ids}
    assert len(used) == 3, f"60 traces should reach all 3 backends, reached {used}"
    assert metric(telemetry, "spanhouse_loadbalancer_backend_outcome_total", success="true") == 3
    assert metric(telemetry, "spanhouse_loadbalancer_num_backends") == 3
    assert metric(telemetry, "spanhouse_loadbalancer_num_resolutions_total",
                  resolver="static", success="true") == 1


def test_service_routing_sends_each_service_to_its_backend(server_factory, tmp_path):
    backends = start_backends(server_factory, tmp_path, 2)
    exporter = LoadBalancingExporter("loadbalancing", Telemetry(), settings(
        [b.grpc_endpoint for b in backends], routing_key="service"))
    exporter.start()
    batch, ids = traces(10)
    exporter.export(batch)
    assert exporter.flush(30)
    ring = exporter.backends.ring
    exporter.shutdown(5)
    by_service = {"api-gateway": 3, "worker": 2}  # spans of each service in one trace
    expected: dict[str, int] = {}
    for service, spans in by_service.items():
        endpoint = ring.endpoint_for(service.encode())
        expected[endpoint] = expected.get(endpoint, 0) + spans
    found = where_stored(backends)
    for trace_id in ids:
        assert found[trace_id] == expected, trace_id


def test_a_stopped_backend_hands_its_share_to_the_next_one(server_factory, tmp_path):
    backends = start_backends(server_factory, tmp_path, 3)
    telemetry = Telemetry()
    exporter = LoadBalancingExporter("loadbalancing", telemetry,
                                     settings(b.grpc_endpoint for b in backends))
    exporter.start()
    ring = exporter.backends.ring
    first, first_ids = traces(30)
    exporter.export(first)
    assert exporter.flush(30)

    down = backends[1]
    down_endpoint = down.grpc_endpoint
    down.stop()
    second, second_ids = traces(60)
    second.seq_low = 42  # as if from the write-ahead log: held until delivered
    exporter.export(second)
    assert exporter.flush(60)
    assert exporter.held_seq() is None
    exporter.shutdown(5)

    rerouted = [t for t in second_ids if ring.endpoint_for(bytes.fromhex(t)) == down_endpoint]
    assert rerouted, "no trace of the second batch belonged to the stopped backend"
    found = {}
    for server in backends:
        if server is down:
            counts = stored_span_counts(server.data_dir)
            for trace_id, count in counts.items():
                found.setdefault(trace_id, {})[down_endpoint] = count
    found_live = where_stored([b for b in backends if b is not down])
    for trace_id, where in found_live.items():
        found.setdefault(trace_id, {}).update(where)
    for trace_id in first_ids:
        assert found[trace_id] == {ring.endpoint_for(bytes.fromhex(trace_id)): 5}
    for trace_id in second_ids:
        expected = ring.endpoint_avoiding(bytes.fromhex(trace_id), {down_endpoint})
        assert found.get(trace_id) == {expected: SPANS_PER_TRACE}, trace_id
    assert sum(sum(w.values()) for w in found.values()) == 90 * SPANS_PER_TRACE
    assert metric(telemetry, "spanhouse_loadbalancer_backend_outcome_total",
                  endpoint=down_endpoint, success="false") >= 1
    assert metric(telemetry, "spanhouse_loadbalancer_rerouted_spans_total") == \
        len(rerouted) * SPANS_PER_TRACE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_batch_no_backend_takes_stays_held():
    """Every backend down: the batch is neither acknowledged nor dropped; at the shutdown
    deadline it is still held, so the write-ahead log replays it at the next start."""
    telemetry = Telemetry()
    exporter = LoadBalancingExporter("loadbalancing", telemetry, settings(
        [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"], max_elapsed="200ms"))
    exporter.start()
    batch, _ = traces(5)
    batch.seq_low = 7
    exporter.export(batch)
    deadline = time.monotonic() + 10
    while metric(telemetry, "spanhouse_loadbalancer_backend_outcome_total",
                 success="false") < 2:
        assert time.monotonic() < deadline, "no failed attempt was seen"
        time.sleep(0.05)
    assert exporter.held_seq() == 7
    assert not exporter.shutdown(0.5)
    assert exporter.held_seq() == 7
    assert metric(telemetry, "spanhouse_exporter_send_failed_spans_total") == 0


class Answers:
    """A lookup whose answers the test scripts: a list of addresses, or an OSError."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self, hostname: str) -> list[str]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_dns_resolution_keeps_the_last_good_set():
    telemetry = Telemetry()
    seen = []
    resolver = DnsResolver("backends", "4317", 60, 1, ResolverMetrics(telemetry, "lb", "dns"),
                           lookup=Answers(["10.0.0.2", "10.0.0.1", "::1"], [],
                                          OSError("no such host"), ["10.0.0.3"]))
    resolver.on_change(seen.append)
    expected = ["10.0.0.1:4317", "10.0.0.2:4317", "[::1]:4317"]
    assert resolver.resolve() == expected
    assert resolver.resolve() == expected   # empty answer: kept
    assert resolver.resolve() == expected   # failure: kept
    assert resolver.resolve() == ["10.0.0.3:4317"]
    assert seen == [expected, ["10.0.0.3:4317"]]
    assert metric(telemetry, "spanhouse_loadbalancer_num_resolutions_total",
                  success="false") == 2
    assert metric(telemetry, "spanhouse_loadbalancer_num_resolutions_total",
                  success="true") == 2
    assert metric(telemetry, "spanhouse_loadbalancer_num_backend_updates_total") == 2


def test_dns_without_port_hashes_bare_ips_and_reresolves_on_its_interval():
    """Upstream: no ``port`` means the ring holds bare IPs (dialled on 4317). The real
    getaddrinfo answers for localhost; the background thread re-resolves every interval."""
    telemetry = Telemetry()
    resolver = DnsResolver("localhost", "", 0.05, 1, ResolverMetrics(telemetry, "lb", "dns"))
    resolver.start()
    try:
        assert "127.0.0.1" in resolver.endpoints
        deadline = time.monotonic() + 5
        while metric(telemetry, "spanhouse_loadbalancer_num_resolutions_total",
                     success="true") < 3:
            assert time.monotonic() < deadline, "no re-resolution on the interval"
            time.sleep(0.05)
    finally:
        resolver.shutdown()


def test_without_a_queue_an_undeliverable_batch_is_refused_retryably():
    s = settings([f"127.0.0.1:{free_port()}"], max_elapsed="200ms")
    s = dataclasses.replace(s, queue=dataclasses.replace(s.queue, enabled=False))
    exporter = LoadBalancingExporter("loadbalancing", Telemetry(), s)
    exporter.start()
    batch, _ = traces(2)
    with pytest.raises(Overloaded, match="every backend failed"):
        exporter.export(batch)
    exporter.shutdown(1)


TIER_ONE = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
exporters:
  loadbalancing:
    protocol:
      otlp:
        tls:
          insecure: true
        retry_on_failure:
          initial_interval: 50ms
          max_interval: 200ms
          max_elapsed_time: 1s
    resolver:
      static:
        hostnames: [{hostnames}]
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [loadbalancing]
"""


def test_two_tiers_of_spanhouse_serve(server_factory, tmp_path):
    """The collector's two-tier layout with real servers: ``spanhouse serve --config`` with
    a loadbalancing exporter in front of two more."""
    backends = start_backends(server_factory, tmp_path, 2)
    config = tmp_path / "tier1.yaml"
    config.write_text(TIER_ONE.format(hostnames=", ".join(b.grpc_endpoint for b in backends)))
    tier1 = server_factory("--config", str(config), data_dir=tmp_path / "tier1")
    sender = OtlpGrpcExporter("sender", Telemetry(), GrpcSettings(
        target=tier1.grpc_endpoint, use_tls=False, queue=QueueSettings(enabled=False)))
    sender.start()
    ids = []
    for _ in range(4):
        batch, batch_ids = traces(10)
        sender.export(batch)
        ids += batch_ids
    sender.shutdown(1)
    deadline = time.monotonic() + 30
    while tier1.metric("spanhouse_exporter_sent_spans_total", exporter="loadbalancing") \
            < 40 * SPANS_PER_TRACE:
        assert time.monotonic() < deadline, "tier 1 did not forward every span"
        time.sleep(0.2)
    assert tier1.metric("spanhouse_loadbalancer_num_backends") == 2
    assert tier1.stop() == 0
    ring = HashRing(sorted(b.grpc_endpoint for b in backends))
    found = where_stored(backends)
    for trace_id in ids:
        assert found.get(trace_id) == {ring.endpoint_for(bytes.fromhex(trace_id)):
                                       SPANS_PER_TRACE}, trace_id


def test_a_backend_stopped_while_batches_flow_loses_nothing(server_factory, tmp_path):
    """The backend is stopped while batches are being sent: each of its traces lands whole
    either on it (acknowledged before it stopped, so stored by it) or on the next backend on
    the ring; the others' traces never move, and every span is somewhere exactly once."""
    backends = start_backends(server_factory, tmp_path, 3)
    exporter = LoadBalancingExporter("loadbalancing", Telemetry(),
                                     settings(b.grpc_endpoint for b in backends))
    exporter.start()
    ring = exporter.backends.ring
    down = backends[1]
    down_endpoint = down.grpc_endpoint
    ids: list[str] = []
    sent_three = threading.Event()

    def send() -> None:
        for i in range(12):
            batch, batch_ids = traces(10)
            exporter.export(batch)
            ids.extend(batch_ids)
            if i == 2:
                sent_three.set()
            time.sleep(0.2)

    sender = threading.Thread(target=send)
    sender.start()
    assert sent_three.wait(30)
    down.stop()
    sender.join(60)
    assert exporter.flush(60)
    assert exporter.held_seq() is None
    exporter.shutdown(5)

    found = {t: {down_endpoint: n} for t, n in stored_span_counts(down.data_dir).items()}
    for trace_id, where in where_stored([b for b in backends if b is not down]).items():
        assert trace_id not in found, f"trace {trace_id} is on two backends"
        found[trace_id] = where
    assert len(ids) == 120
    for trace_id in ids:
        own = ring.endpoint_for(bytes.fromhex(trace_id))
        allowed = {own} if own != down_endpoint else {
            own, ring.endpoint_avoiding(bytes.fromhex(trace_id), {down_endpoint})}
        where = found.get(trace_id, {})
        assert len(where) == 1 and set(where) <= allowed, (trace_id, where, allowed)
        assert list(where.values()) == [SPANS_PER_TRACE], (trace_id, where)
    moved = [t for t in ids if ring.endpoint_for(bytes.fromhex(t)) == down_endpoint
             and down_endpoint not in found[t]]
    assert moved, "no trace of the stopped backend went to the next one"
