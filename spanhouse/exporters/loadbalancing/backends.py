"""The backends a ``loadbalancing`` exporter currently routes to: one ``otlp`` gRPC transport
(``spanhouse.exporters.otlp.grpc_transport``) per endpoint, and the ring over them.

``update(endpoints)`` is the resolver's callback (upstream's ``onBackendChanges``): a new ring,
transports opened for new endpoints, and the ones that went away retired. A retired transport
is closed once no send uses it any more, so a resolution never cuts a request in flight
(upstream shuts the old exporter down in the background for the same reason).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from spanhouse.exporters.loadbalancing.resolver import endpoint_with_port
from spanhouse.exporters.loadbalancing.ring import HashRing
from spanhouse.exporters.otlp.config import GrpcSettings
from spanhouse.exporters.otlp.grpc_transport import GrpcTransport

log = logging.getLogger(__name__)


class Backend:
    """One endpoint's transport, counted while in use."""

    def __init__(self, target: str, transport: GrpcTransport):
        self.target = target
        self.transport = transport
        self.retired = False
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.retired:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            close = self.retired and self._users == 0
        if close:
            self._close()

    def retire(self) -> None:
        with self._lock:
            self.retired = True
            close = self._users == 0
        if close:
            self._close()

    def _close(self) -> None:
        try:
            self.transport.close()
        except Exception as exc:  # closing one must not stop the others
            log.warning("loadbalancing: error closing the client of %s: %s", self.target, exc)


class Backends:
    """The current ring and a backend per endpoint; thread-safe."""

    def __init__(self, settings_for: Callable[[str], GrpcSettings],
                 on_update: Callable[[int], None] | None = None):
        self._settings_for = settings_for
        self._on_update = on_update
        self._lock = threading.Lock()
        self._ring = HashRing(())
        self._by_target: dict[str, Backend] = {}

    @property
    def ring(self) -> HashRing:
        return self._ring

    def update(self, endpoints: list[str]) -> None:
        ring = HashRing(endpoints)
        with self._lock:
            if ring.equal(self._ring):
                return
            targets = {endpoint_with_port(e) for e in endpoints}
            for target in sorted(targets - self._by_target.keys()):
                transport = GrpcTransport(self._settings_for(target))
                transport.open()  # grpcio connects lazily: this never blocks
                self._by_target[target] = Backend(target, transport)
            gone = [self._by_target.pop(t) for t in sorted(self._by_target.keys() - targets)]
            self._ring = ring
        for backend in gone:
            backend.retire()
        log.info("loadbalancing: routing to %d backends: %s", len(targets), ", ".join(sorted(targets)))
        if self._on_update is not None:
            self._on_update(len(targets))

    def acquire(self, endpoint: str) -> Backend | None:
        """The backend of a ring endpoint, held until ``release``; None if it went away."""
        with self._lock:
            backend = self._by_target.get(endpoint_with_port(endpoint))
        return backend if backend is not None and backend.acquire() else None

    def close(self) -> None:
        with self._lock:
            gone, self._by_target = list(self._by_target.values()), {}
            self._ring = HashRing(())
        for backend in gone:
            backend.retire()
