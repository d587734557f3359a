"""``LoadBalancingExporter``: route each span to the backend the collector's ring picks, and
to the next backend on the ring when that one is down.

Flow: ``export`` puts the batch in one bounded ``SendingQueue`` (overflow policy: refuse with
``Overloaded``, keeping nothing). A sender thread splits it by backend (``routing.split``) and
sends each part over that backend's gRPC transport, retried per ``protocol.otlp``'s
``retry_on_failure``. A part that still fails with a retryable error (the backend is down)
is re-split with that backend excluded, so each of its traces goes to the next backend on
the ring, the one that would own it if the failed backend left the ring. When every backend
has failed, the whole round is retried after a wait (the exporter-level
``retry_on_failure``; by default until one is back).

Nothing acknowledged is lost: the batch stays in the queue, and so ``held_seq`` keeps its
write-ahead log records, until every part of it was accepted by some backend (or refused
for good: a permanent error such as INVALID_ARGUMENT is counted and logged, as the ``otlp``
exporter does, since another backend would refuse it too). A batch not done at the
shutdown deadline stays held and is replayed at the next start; its parts already
delivered are then sent again (at-least-once, like every collector exporter).
"""

from __future__ import annotations

import logging
import random
import time

from spanhouse.errors import Overloaded
from spanhouse.exporters.loadbalancing.backends import Backends
from spanhouse.exporters.loadbalancing.config import (
    DnsSettings, LoadBalancingSettings, StaticSettings,
)
from spanhouse.exporters.loadbalancing.resolver import DnsResolver, ResolverMetrics, StaticResolver
from spanhouse.exporters.loadbalancing.routing import NO_ENDPOINT, split
from spanhouse.exporters.otlp.exporter import forwarding_counters
from spanhouse.exporters.otlp.transport import SendError
from spanhouse.exporters.sending_queue import SendingQueue, Stopped
from spanhouse.model.batch import SpanBatch

log = logging.getLogger(__name__)


class _Undelivered(Exception):
    """Some spans of a batch found no backend that took them in this round (retryable)."""

    def __init__(self, remaining: SpanBatch, why: str):
        super().__init__(why)
        self.remaining = remaining


class LoadBalancingExporter:
    def __init__(self, name: str, telemetry, settings: LoadBalancingSettings, resolver=None):
        self.name = name
        self.settings = settings
        self._rng = random.Random()
        self._started = False
        self.resolver = resolver or _make_resolver(name, telemetry, settings)
        self.backends = Backends(settings.for_endpoint)
        self._m_outcome = telemetry.counter(
            "spanhouse_loadbalancer_backend_outcome",
            "Requests a loadbalancing exporter sent to each backend, by outcome "
            "(success=false: failed after its retries, or refused for good).",
            ["exporter", "endpoint", "success"])
        self._m_sent, self._m_failed, self._m_enqueue_failed, self._m_retries = \
            forwarding_counters(telemetry, name)
        labels = ["exporter"]
        self._m_rerouted = telemetry.counter(
            "spanhouse_loadbalancer_rerouted_spans",
            "Spans sent to the next backend on the ring because theirs failed.",
            labels).labels(name)
        queue = settings.queue
        self._queue = SendingQueue(
            self._send_batch, capacity=queue.queue_size, sizer=queue.sizer,
            num_consumers=queue.num_consumers, what=f"sending queue of exporter {name}",
            closed_message=f"exporter {name} is shutting down",
            size_gauge=telemetry.gauge(
                "spanhouse_exporter_queue_size",
                "Current size of the sending queue (batches or spans, per its sizer).",
                labels).labels(name),
            capacity_gauge=telemetry.gauge(
                "spanhouse_exporter_queue_capacity", "Capacity of the sending queue.",
                labels).labels(name),
            thread_name=f"spanhouse-{name}")

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.resolver.on_change(self.backends.update)
        if self.settings.queue.enabled:
            self._queue.start()
        self.resolver.start()

    def export(self, batch: SpanBatch) -> None:
        if not len(batch):
            return
        if not self.settings.queue.enabled:
            # In the caller's thread: one round over the backends; what no backend took is
            # refused as a whole (retryable), so the sender sends it again.
            try:
                self._round(batch, self._queue.stop_event)
            except (_Undelivered, Stopped) as exc:
                raise Overloaded(f"exporter {self.name} cannot deliver: {exc}") from None
            return
        try:
            self._queue.offer(batch)
        except Overloaded:
            self._m_enqueue_failed.inc(len(batch))
            raise

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a batch not yet accepted by backends."""
        return self._queue.held_seq()

    def flush(self, timeout: float) -> bool:
        return self._queue.flush(timeout)

    def shutdown(self, timeout: float) -> bool:
        """Stop taking batches, deliver what is queued within ``timeout``; what is left
        stays held (``held_seq``) for the write-ahead log to replay."""
        left = self._queue.shutdown(timeout)
        if left:
            log.error("exporter %s: %d spans not delivered within the %.1fs shutdown timeout "
                      "(kept for replay)", self.name, sum(len(b) for b in left), timeout)
        self.resolver.shutdown()
        self.backends.close()
        return not left

    @property
    def describe(self) -> str:
        r = self.settings.resolver
        where = (f"static {', '.join(r.hostnames)}" if isinstance(r, StaticSettings)
                 else f"dns {r.hostname}{':' + r.port if r.port else ''} every {r.interval_s:g}s")
        return f"routing_key {self.settings.routing_key}, {where}"

    # ------------------------------------------------------------------ sending
    def _send_batch(self, batch: SpanBatch) -> None:
        """A queued batch: rounds until every span is delivered; ``Stopped`` (the deadline)
        leaves it held. Giving up (a finite exporter-level retry) drops and counts it."""
        state = {"remaining": batch}

        def attempt() -> None:
            try:
                self._round(state["remaining"], self._queue.stop_event)
            except _Undelivered as exc:
                state["remaining"] = exc.remaining
                raise

        try:
            self.settings.rounds.run(
                attempt, lambda e: isinstance(e, _Undelivered), self._queue.stop_event,
                on_retry=lambda n, wait, e: log.warning(
                    "exporter %s: %s; trying again in %.1fs", self.name, e, wait),
                rng=self._rng)
        except _Undelivered as exc:
            self._m_failed.inc(len(exc.remaining))
            log.error("exporter %s: dropping %d spans (giving up): %s",
                      self.name, len(exc.remaining), exc)

    def _round(self, batch: SpanBatch, stop_event) -> None:
        """Offer every span to its backend, failing over along the ring until each was taken
        or every backend failed (then ``_Undelivered`` with what is left)."""
        excluded: set[str] = set()
        remaining = batch
        while True:
            ring = self.backends.ring
            if not len(ring):
                raise _Undelivered(remaining, "no backends resolved yet")
            parts = split(remaining, ring, self.settings.routing_key, frozenset(excluded))
            stranded = parts.pop(NO_ENDPOINT, None)  # every backend they could use failed
            failed = [stranded] if stranded is not None else []
            for endpoint, part in parts.items():
                if not self._send_part(endpoint, part, stop_event):
                    excluded.add(endpoint)
                    failed.append(part)
            if not failed:
                return
            remaining = failed[0] if len(failed) == 1 else SpanBatch.concat(failed)
            if stranded is not None or excluded >= set(ring.endpoints):
                raise _Undelivered(remaining, f"every backend failed ({len(remaining)} spans "
                                              "not delivered)")
            self._m_rerouted.inc(len(remaining))

    def _send_part(self, endpoint: str, part: SpanBatch, stop_event) -> bool:
        """True when the part is done (accepted, or refused for good); False to fail over."""
        backend = self.backends.acquire(endpoint)
        if backend is None:  # removed by a resolution since the split
            return False
        n = len(part)
        try:
            payload = backend.transport.prepare(part)
            rejected, message = self.settings.otlp.retry.run(
                lambda: backend.transport.send(payload, self._attempt_timeout()),
                lambda e: isinstance(e, SendError) and e.retryable, stop_event,
                throttle_of=lambda e: e.throttle_s if isinstance(e, SendError) else 0.0,
                on_retry=lambda attempt, wait, e: self._retrying(backend.target, n, wait, e),
                rng=self._rng)
        except SendError as exc:
            if stop_event.is_set():  # e.g. the client closed at the deadline
                raise Stopped(str(exc)) from exc
            self._m_outcome.labels(self.name, endpoint, "false").inc()
            if exc.retryable or backend.retired:
                log.warning("exporter %s: backend %s failed, %d spans go to the next backend "
                            "on the ring: %s", self.name, backend.target, n, exc)
                return False
            self._m_failed.inc(n)
            log.error("exporter %s: backend %s refused %d spans (not retryable): %s",
                      self.name, backend.target, n, exc)
            return True
        finally:
            backend.release()
        self._m_outcome.labels(self.name, endpoint, "true").inc()
        rejected = max(0, min(rejected, n))
        self._m_sent.inc(n - rejected)
        if rejected or message:
            self._m_failed.inc(rejected)
            log.warning("exporter %s: partial success: %s rejected %d of %d spans: %s",
                        self.name, backend.target, rejected, n, message)
        return True

    def _retrying(self, target: str, n: int, wait_s: float, exc: BaseException) -> None:
        self._m_retries.inc()
        log.warning("exporter %s: sending %d spans to %s failed, retrying in %.1fs: %s",
                    self.name, n, target, wait_s, exc)

    def _attempt_timeout(self) -> float:
        deadline = self._queue.deadline
        timeout = self.settings.otlp.timeout_s
        return timeout if deadline is None else max(0.001, min(timeout, deadline - time.monotonic()))


def _make_resolver(name: str, telemetry, settings: LoadBalancingSettings):
    r = settings.resolver
    if isinstance(r, DnsSettings):
        return DnsResolver(r.hostname, r.port, r.interval_s, r.timeout_s,
                           ResolverMetrics(telemetry, name, "dns"))
    return StaticResolver(r.hostnames, ResolverMetrics(telemetry, name, "static"))
