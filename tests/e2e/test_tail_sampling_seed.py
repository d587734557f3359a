"""The seed's sampling advice, end to end: its ``processors:`` block pasted verbatim into a
config whose pipeline is ``[tail_sampling]``, a few thousand traces sent by the real OTel SDK
over OTLP/gRPC to a real ``spanhouse serve``, and the store read back.

Trace ids come from a seeded generator, so the run is reproducible; the assertions are the
statistical bounds a random run would have to meet.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import REPO, store_query
from tests.e2e.store_config import tail_sampling_config

# The seed article lives beside the repository in the team's work area; the test uses a
# verbatim copy of its ``processors:`` block (checked against the article when it is there).
SEED = REPO.parent / "shared" / "seed" / "000_ee07960517c6112b.txt"
SEED_BLOCK = REPO / "tests" / "fixtures" / "seed_processors.yaml"
N_TRACES, N_ERRORS, N_SLOW = 3000, 300, 90


def seed_processors_block() -> str:
    """The seed's ``processors:`` block, verbatim."""
    return SEED_BLOCK.read_text(encoding="utf-8").rstrip()


def block_from_article(path: Path) -> str:
    """The ``processors:`` block cut from the seed article (to the end of the policies)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    start = lines.index("processors:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    block = "\n".join(lines[start:end]).rstrip()
    assert "tail_sampling:" in block and "sampling_percentage: 5" in block
    return block


class SeededIds(IdGenerator):
    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self.random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self.random.getrandbits(128) or 1


@pytest.mark.skipif(not SEED.exists(), reason="the seed article is not beside this checkout "
                    "(CI clones the repository alone); the fixture copy is used instead")
def test_fixture_is_the_seed_block_verbatim():
    assert seed_processors_block() == block_from_article(SEED)


def write_config(tmp_path: Path) -> Path:
    block = seed_processors_block().replace(
        "  tail_sampling:\n", "  tail_sampling:\n    decision_wait: 2s\n", 1)
    return tail_sampling_config(tmp_path, block)


def send_traces(endpoint: str) -> dict[str, str]:
    """Send the traces; returns trace id (hex) -> kind (error, slow, boring)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}),
                              id_generator=SeededIds(2026))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True),
        max_queue_size=20_000, max_export_batch_size=1000, schedule_delay_millis=100))
    tracer = provider.get_tracer("seed-test")
    kinds = ["error"] * N_ERRORS + ["slow"] * N_SLOW + ["boring"] * (N_TRACES - N_ERRORS - N_SLOW)
    random.Random(7).shuffle(kinds)
    sent = {}
    base = time.time_ns() - 600 * 10**9
    for i, kind in enumerate(kinds):
        start = base + i * 10**6
        duration = 1_200 * 10**6 if kind == "slow" else 40 * 10**6
        root = tracer.start_span("POST /checkout", kind=SpanKind.SERVER, start_time=start)
        child = tracer.start_span("charge_payment", context=_ctx(root), start_time=start + 10**6)
        if kind == "error":
            child.set_status(Status(StatusCode.ERROR, "card declined"))
            root.set_status(Status(StatusCode.ERROR))
        child.end(end_time=start + 20 * 10**6)
        root.end(end_time=start + duration)
        sent[format(root.get_span_context().trace_id, "032x")] = kind
    assert provider.force_flush(60_000)
    provider.shutdown()
    return sent


def _ctx(span):
    from opentelemetry import trace
    return trace.set_span_in_context(span)


def test_seed_tail_sampling_keeps_errors_and_slow_and_5_percent(server_factory, tmp_path):
    server = server_factory("--config", str(write_config(tmp_path)), data_dir=tmp_path / "data")
    sent = send_traces(server.grpc_endpoint)
    assert len(sent) == N_TRACES
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.metric("spanhouse_tail_sampling_traces_decided_total") >= N_TRACES:
            break
        time.sleep(0.5)
    assert server.metric("spanhouse_tail_sampling_traces_decided_total") == N_TRACES
    assert server.metric("spanhouse_tail_sampling_traces_decided_total", policy="errors") == N_ERRORS
    assert server.stop() == 0

    rows = store_query(tmp_path / "data",
                       "SELECT TraceId, count(), any(SamplingPolicy), any(AdjustedCount) "
                       "FROM default.otel_traces GROUP BY TraceId")
    kept = {trace_id: (count, policy, adjusted) for trace_id, count, policy, adjusted in rows}
    by_kind = {k: {t for t, kind in sent.items() if kind == k} for k in ("error", "slow", "boring")}
    assert by_kind["error"] <= kept.keys(), "every error trace is kept"
    assert by_kind["slow"] <= kept.keys(), "every trace longer than 1 s is kept"
    assert all(kept[t][0] == 2 for t in kept), "kept traces are complete"
    assert {kept[t][1] for t in by_kind["error"]} == {"errors"}
    assert {kept[t][1] for t in by_kind["slow"]} == {"slow-requests"}

    # About 5% of the rest, inside the 99.9% binomial interval.
    n = len(by_kind["boring"])
    boring_kept = len(by_kind["boring"] & kept.keys())
    mean, sd = n * 0.05, math.sqrt(n * 0.05 * 0.95)
    assert mean - 3.29 * sd <= boring_kept <= mean + 3.29 * sd, (boring_kept, mean)
    assert {kept[t][1:] for t in by_kind["boring"] & kept.keys()} == {("default", 20.0)}

    # Sampling-aware estimate of the traces of the service: within 10% of what was sent.
    (estimate,), = store_query(tmp_path / "data",
                               "SELECT sum(AdjustedCount) FROM default.otel_traces "
                               "WHERE ParentSpanId = '' AND ServiceName = 'checkout'")
    assert abs(estimate - N_TRACES) <= 0.10 * N_TRACES, estimate
    assert len(kept) < N_TRACES * 0.25  # most boring traces really were dropped
