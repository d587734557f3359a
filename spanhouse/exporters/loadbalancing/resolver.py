"""Where the backends are: upstream's ``resolver_static.go`` and ``resolver_dns.go``.

A resolver calls ``on_change(endpoints)`` with the sorted endpoint list whenever it changes
(the static one once, at ``start``). The strings are those the ring hashes, so they follow
upstream to the letter: static hostnames as written, DNS answers as ``IP`` or ``[IPv6]``
with ``:port`` only when ``port`` is configured; ``endpoint_with_port`` adds the default
port 4317 for dialling only.

The DNS resolver looks the name up with the standard library's ``getaddrinfo`` on its own
thread, at ``start`` and then every ``interval``; a lookup has ``timeout`` to answer. A
failed or empty lookup keeps the last good list (upstream: ``LookupIPAddr`` reports "no such
host" as an error, and an error never replaces the list), counted as an unsuccessful
resolution.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Sequence

log = logging.getLogger(__name__)

DEFAULT_PORT = "4317"

OnChange = Callable[[list[str]], None]
# (hostname) -> the addresses it resolves to, as strings; raises OSError on failure
Lookup = Callable[[str], list[str]]


def endpoint_with_port(endpoint: str) -> str:
    """Upstream's ``endpointWithPort``: anything without a ``:`` gets ``:4317``."""
    return endpoint if ":" in endpoint else f"{endpoint}:{DEFAULT_PORT}"


def getaddrinfo_lookup(hostname: str) -> list[str]:
    """The distinct addresses of ``hostname`` (Go's ``LookupIPAddr`` lists each once)."""
    infos = socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class ResolverMetrics:
    """Upstream's ``loadbalancer_num_resolutions`` / ``num_backends`` /
    ``num_backend_updates``, labelled with the exporter and the resolver kind."""

    def __init__(self, telemetry, exporter: str, resolver: str):
        self._resolutions = telemetry.counter(
            "spanhouse_loadbalancer_num_resolutions",
            "Resolutions a loadbalancing exporter's resolver performed, by outcome.",
            ["exporter", "resolver", "success"])
        self._backends = telemetry.gauge(
            "spanhouse_loadbalancer_num_backends",
            "Backends a loadbalancing exporter currently routes to.",
            ["exporter", "resolver"]).labels(exporter, resolver)
        self._updates = telemetry.counter(
            "spanhouse_loadbalancer_num_backend_updates",
            "Resolutions that changed a loadbalancing exporter's list of backends.",
            ["exporter", "resolver"]).labels(exporter, resolver)
        self._exporter, self._resolver = exporter, resolver

    def resolved(self, success: bool) -> None:
        self._resolutions.labels(self._exporter, self._resolver, str(success).lower()).inc()

    def changed(self, count: int) -> None:
        self._backends.set(count)
        self._updates.inc()


class StaticResolver:
    kind = "static"

    def __init__(self, hostnames: Sequence[str], metrics: ResolverMetrics):
        # sorted, so the order the config lists them in does not matter (as upstream)
        self.endpoints = sorted(hostnames)
        self._metrics = metrics
        self._callbacks: list[OnChange] = []

    def on_change(self, callback: OnChange) -> None:
        self._callbacks.append(callback)

    def start(self) -> None:
        self._metrics.resolved(True)
        self._metrics.changed(len(self.endpoints))
        for callback in self._callbacks:
            callback(list(self.endpoints))

    def shutdown(self) -> None:
        self._callbacks = []


class DnsResolver:
    kind = "dns"

    def __init__(self, hostname: str, port: str, interval_s: float, timeout_s: float,
                 metrics: ResolverMetrics, lookup: Lookup = getaddrinfo_lookup):
        self.hostname, self.port = hostname, port
        self.interval_s, self.timeout_s = interval_s, timeout_s
        self.endpoints: list[str] = []
        self._metrics = metrics
        self._lookup = lookup
        self._callbacks: list[OnChange] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # getaddrinfo cannot be cancelled: a lookup past its timeout is abandoned to this
        # pool (one worker, so a hung resolver holds one thread, not one per interval)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="spanhouse-lb-dns")

    def on_change(self, callback: OnChange) -> None:
        self._callbacks.append(callback)

    def start(self) -> None:
        """Resolve once now (a failure is logged, as upstream: the exporter starts with no
        backends and refuses batches until a lookup succeeds), then every interval."""
        self.resolve()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="spanhouse-lb-resolver")
        self._thread.start()

    def shutdown(self) -> None:
        self._callbacks = []
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 1)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.resolve()

    def resolve(self) -> list[str]:
        """One lookup; returns the (possibly unchanged) endpoint list."""
        try:
            addresses = self._pool.submit(self._lookup, self.hostname).result(self.timeout_s)
            if not addresses:
                raise OSError(f"no addresses for {self.hostname}")
        except (OSError, FutureTimeout, RuntimeError) as exc:
            self._metrics.resolved(False)
            log.warning("loadbalancing: failed to resolve %s (keeping %d backends): %s",
                        self.hostname, len(self.endpoints), exc or "timed out")
            return self.endpoints
        self._metrics.resolved(True)
        backends = sorted(self._backend(address) for address in addresses)
        with self._lock:
            if backends == self.endpoints:
                return self.endpoints
            self.endpoints = backends
        self._metrics.changed(len(backends))
        for callback in list(self._callbacks):
            callback(list(backends))
        return backends

    def _backend(self, address: str) -> str:
        host = address.split("%", 1)[0]  # a zone index is not part of Go's IP.String()
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            host = f"[{ipaddress.ip_address(host).compressed}]"
        return f"{host}:{self.port}" if self.port else host
