"""Spanhouse's own metrics, served as Prometheus text on ``GET /metrics``.

Every span is accounted for: received (decoded and handed to the pipeline), refused (the whole
request was turned away: overload, too large, malformed — the sender was told and may retry),
rejected (one invalid span inside an otherwise good request, reported via ``partial_success``),
dropped (by a processor, e.g. sampling, with the reason) and stored.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Telemetry:
    """One registry per server, so tests can run several servers in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._extra: dict[str, object] = {}
        self._lock = threading.Lock()
        r = self.registry
        self.spans_received = Counter(
            "spanhouse_spans_received", "Spans decoded and accepted into the pipeline.",
            ["receiver"], registry=r)
        self.spans_refused = Counter(
            "spanhouse_spans_refused",
            "Spans in requests refused as a whole (the sender got an error and may retry). "
            "For undecodable requests the count is unknown and requests_refused counts them.",
            ["receiver", "reason"], registry=r)
        self.requests_refused = Counter(
            "spanhouse_requests_refused", "Requests refused as a whole, by reason.",
            ["receiver", "reason"], registry=r)
        self.spans_rejected = Counter(
            "spanhouse_spans_rejected",
            "Invalid spans dropped from an otherwise valid request (reported in partial_success).",
            ["receiver"], registry=r)
        self.spans_dropped = Counter(
            "spanhouse_spans_dropped", "Spans dropped on purpose by a processor.",
            ["processor", "reason"], registry=r)
        self.spans_stored = Counter(
            "spanhouse_spans_stored", "Spans inserted into the store.", ["exporter"], registry=r)
        self.store_errors = Counter(
            "spanhouse_store_insert_errors", "Failed insert attempts (the batch is retried).",
            ["exporter"], registry=r)
        self.queue_spans = Gauge(
            "spanhouse_write_queue_spans", "Spans waiting in the write queue.",
            ["exporter"], registry=r)
        self.queue_capacity = Gauge(
            "spanhouse_write_queue_capacity_spans", "Capacity of the write queue in spans.",
            ["exporter"], registry=r)

    def counter(self, name: str, documentation: str, labels: list[str]) -> Counter:
        """A component's own counter, created on first use: several instances of a component
        (``otlp/a``, ``otlp/b``) share it and tell themselves apart by label."""
        return self._metric(Counter, name, documentation, labels)

    def gauge(self, name: str, documentation: str, labels: list[str]) -> Gauge:
        return self._metric(Gauge, name, documentation, labels)

    def _metric(self, kind, name: str, documentation: str, labels: list[str]):
        with self._lock:
            metric = self._extra.get(name)
            if metric is None:
                metric = kind(name, documentation, labels, registry=self.registry)
                self._extra[name] = metric
            return metric

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
