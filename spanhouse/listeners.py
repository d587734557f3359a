"""How every listener of ``spanhouse serve`` treats its connections: timeouts and caps.

A client may hold a connection open; it may not hold it open *for nothing*. The limits, with the
OpenTelemetry Collector's own settings they correspond to (``confighttp`` / ``configgrpc``):

HTTP (OTLP/HTTP, Zipkin, the query API and UI), ``uvicorn_server``:

- ``HEADER_TIMEOUT_S`` (collector ``read_header_timeout``, default 1 min there): a connection
  that sends nothing, or only part of a request head, is closed this long after it opened (or,
  on a kept-alive connection, after the first byte of the next request). 10 s here: the
  collector's minute lets 300 silent sockets sit for as long as the issue's tester waited.
- ``IDLE_TIMEOUT_S`` (collector ``idle_timeout``, 1 min there): a kept-alive connection with no
  next request is closed after this.
- ``LIMIT_CONCURRENCY``: connections plus running requests beyond which a request is answered
  503 at once instead of queueing (uvicorn's ``limit_concurrency``).
- The request *body* has its own bound, in ``receivers/http_body.read_body``.

gRPC (OTLP/gRPC), ``grpc_server_options`` (collector ``keepalive.server_parameters`` and
``keepalive.enforcement_policy``; the collector leaves them at grpc-go's defaults, which never
close an idle connection):

- ``GRPC_HANDSHAKE_TIMEOUT_S``: a connection that never completes the HTTP/2 (and TLS)
  handshake, e.g. a socket that stays silent, is closed after this (gRPC's default is 120 s).
- ``GRPC_MAX_CONNECTION_IDLE_S`` (``max_connection_idle``): a connection with no call for this
  long gets a GOAWAY and is closed; the SDK exporters reconnect on their next export.
- ``GRPC_MAX_CONNECTION_AGE_S`` / ``GRPC_MAX_CONNECTION_AGE_GRACE_S`` (``max_connection_age``,
  ``max_connection_age_grace``): no connection lives forever; calls in flight get the grace.
- ``GRPC_KEEPALIVE_TIME_S`` / ``GRPC_KEEPALIVE_TIMEOUT_S`` (``time``, ``timeout``): the server
  pings a quiet connection and drops it if the peer does not answer (a vanished client).
- ``GRPC_MIN_PING_INTERVAL_S`` / ``GRPC_PERMIT_WITHOUT_CALLS`` (``enforcement_policy.min_time``,
  ``permit_without_stream``): a client pinging faster than this is sent GOAWAY
  (``too_many_pings``) after ``GRPC_MAX_PING_STRIKES`` strikes.
- ``GRPC_MAX_CONCURRENT_STREAMS`` (``max_concurrent_streams``): calls at once per connection.
- ``GRPC_MAX_CONCURRENT_RPCS``: calls at once in the whole server, beyond which a call is
  refused RESOURCE_EXHAUSTED (``grpc.aio.server(maximum_concurrent_rpcs=...)``, not an option).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from spanhouse.errors import ConfigError

log = logging.getLogger("spanhouse.listeners")

# ------------------------------------------------------------------------------------- HTTP
HEADER_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0
LIMIT_CONCURRENCY = 1024
GRACEFUL_SHUTDOWN_S = 10
SSL_KEYS = frozenset({"ssl_certfile", "ssl_keyfile", "ssl_keyfile_password", "ssl_ca_certs",
                      "ssl_cert_reqs", "ssl_ciphers", "ssl_version"})
"""The ``ssl`` keys ``uvicorn_server`` passes to ``uvicorn.Config`` (its own names)."""

# -------------------------------------------------------------------------------------- gRPC
GRPC_HANDSHAKE_TIMEOUT_S = 10.0
GRPC_MAX_CONNECTION_IDLE_S = 60.0
GRPC_MAX_CONNECTION_AGE_S = 30 * 60.0
GRPC_MAX_CONNECTION_AGE_GRACE_S = 30.0
GRPC_KEEPALIVE_TIME_S = 60.0
GRPC_KEEPALIVE_TIMEOUT_S = 20.0
GRPC_MIN_PING_INTERVAL_S = 10.0
GRPC_PERMIT_WITHOUT_CALLS = True
GRPC_MAX_PING_STRIKES = 2
GRPC_MAX_CONCURRENT_STREAMS = 100
GRPC_MAX_CONCURRENT_RPCS = 1024


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a timeout on bytes the client owes (uvicorn has none: a
    socket that connects and stays silent, or trickles a head, would be kept forever).

    The timer runs while the connection waits for client bytes that no running request will
    read: a request head, from ``connection_made`` and on a kept-alive connection from the first
    byte of the next request (before that byte, uvicorn's keep-alive timeout applies); and the
    rest of a request body after the response was sent without reading it (e.g. a 413, or a
    body that came too slowly: ``receivers/http_body.read_body``). Further bytes do not restart
    it. It stops as soon as h11 has the whole head (or the end of the unread body); when it
    fires the connection is closed. ``header_timeout`` is set per server by ``uvicorn_server``.
    """

    header_timeout: float = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_head() or self._unread_body():
            if self._header_timer is None:
                self._arm_header_timer()
        else:
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._unread_body() and self._header_timer is None:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return (self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE
                and not self.transport.is_closing())

    def _unread_body(self) -> bool:
        """Answered, but the client is still owing (or trickling) the request's body."""
        return (self.conn.their_state is h11.SEND_BODY
                and self.conn.our_state in (h11.DONE, h11.MUST_CLOSE)
                and not self.transport.is_closing())

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._waiting_for_head() or self._unread_body():
            # h11 cannot answer a request it has not read: close, as Go's server does.
            log.debug("closing a connection that owed request bytes for %ss", self.header_timeout)
            self.transport.close()


class Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its caller (several servers share one
    loop in ``spanhouse serve``)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def uvicorn_server(app, host: str, port: int, *, ssl: dict | None = None,
                   header_timeout: float = HEADER_TIMEOUT_S, idle_timeout: float = IDLE_TIMEOUT_S,
                   limit_concurrency: int = LIMIT_CONCURRENCY) -> Server:
    """A uvicorn server for ``app`` on ``host:port`` with the limits above.

    ``ssl``: uvicorn's own TLS keywords (``SSL_KEYS``: ``ssl_certfile``, ``ssl_keyfile``,
    ``ssl_ca_certs``, ``ssl_cert_reqs``...), passed through; any other key is a ``ConfigError``.
    The timeouts are parameters so tests can shorten them; ``serve`` uses the defaults.
    """
    ssl = dict(ssl or {})
    unknown = sorted(set(ssl) - SSL_KEYS)
    if unknown:
        raise ConfigError(f"unknown TLS setting(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(SSL_KEYS))}")
    if header_timeout <= 0 or idle_timeout <= 0 or limit_concurrency < 1:
        raise ConfigError("listener timeouts must be positive and the concurrency limit at least 1")
    protocol = type("HeaderTimeoutH11Protocol", (HeaderTimeoutH11Protocol,),
                    {"header_timeout": float(header_timeout)})
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        http=protocol,  # h11 only: the header timeout is written for it (httptools is not used)
        timeout_keep_alive=idle_timeout,  # type: ignore[arg-type]  # a float works: call_later
        limit_concurrency=limit_concurrency,
        **ssl,
    )
    return Server(config)


def grpc_server_options(max_receive_bytes: int, *,
                        max_connection_idle_s: float = GRPC_MAX_CONNECTION_IDLE_S,
                        handshake_timeout_s: float = GRPC_HANDSHAKE_TIMEOUT_S,
                        ) -> list[tuple[str, int]]:
    """The channel arguments of the OTLP/gRPC server (``grpc.aio.server(options=...)``).

    Pass ``maximum_concurrent_rpcs=GRPC_MAX_CONCURRENT_RPCS`` to ``grpc.aio.server`` beside
    them. The two keyword arguments exist for tests.
    """
    ms = lambda seconds: int(seconds * 1000)  # noqa: E731
    return [
        ("grpc.max_receive_message_length", max_receive_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.server_handshake_timeout_ms", ms(handshake_timeout_s)),
        ("grpc.max_connection_idle_ms", ms(max_connection_idle_s)),
        ("grpc.max_connection_age_ms", ms(GRPC_MAX_CONNECTION_AGE_S)),
        ("grpc.max_connection_age_grace_ms", ms(GRPC_MAX_CONNECTION_AGE_GRACE_S)),
        ("grpc.keepalive_time_ms", ms(GRPC_KEEPALIVE_TIME_S)),
        ("grpc.keepalive_timeout_ms", ms(GRPC_KEEPALIVE_TIMEOUT_S)),
        ("grpc.http2.min_ping_interval_without_data_ms", ms(GRPC_MIN_PING_INTERVAL_S)),
        ("grpc.keepalive_permit_without_calls", int(GRPC_PERMIT_WITHOUT_CALLS)),
        ("grpc.http2.max_ping_strikes", GRPC_MAX_PING_STRIKES),
        ("grpc.max_concurrent_streams", GRPC_MAX_CONCURRENT_STREAMS),
    ]
