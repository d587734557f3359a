"""``spanhouse serve``: every listener in one process and one event loop.

Start-up order: the store (schema created, writer thread running), then the receivers, then the
UI port and Grafana Tempo's API port (``--tempo``, behind the UI port's auth and TLS), so
``/healthz`` answers 200 only when everything is ready. On SIGINT/SIGTERM: stop accepting
(receivers first), drain the pipeline into the store, close the query ports, exit 0.

Every listener binds ``localhost`` unless told otherwise, and is put behind its ``tls``, its
``auth.authenticator`` and (receivers) its ``cors`` (``spanhouse.extensions``; see
docs/security.md). Connection limits and timeouts are ``spanhouse.listeners``'. Nothing printed
or logged holds a password or a token (``spanhouse.config.redact``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from spanhouse.api.app import create_app as create_ui_app
from spanhouse.api.tempo.app import create_tempo_app
from spanhouse.component import BuildContext
from spanhouse.config.listener import Cors, ListenerSecurity
from spanhouse.config.redact import redact
from spanhouse.config.settings import ServeSettings
from spanhouse.errors import ConfigError, StoreError
from spanhouse.exporters.clickhouse import StoreExporter
from spanhouse.extensions import tls as server_tls
from spanhouse.extensions.grpc_guard import AuthInterceptor
from spanhouse.extensions.http_guard import HttpGuard
from spanhouse.listeners import Server, uvicorn_server
from spanhouse.pipeline import Pipeline, build_pipeline
from spanhouse.receivers import otlp_grpc, otlp_http, zipkin
from spanhouse.receivers.ingest import Ingest
from spanhouse.store.cluster import CLUSTER_READ_SETTINGS, insert_settings
from spanhouse.store.connection import CHDB_SCHEME, client_compression, open_client
from spanhouse.store.pool import Pool
from spanhouse.analysis.store import AnalysisStore
from spanhouse.query.service import QueryService
from spanhouse.query.traceql.engine import TraceQLEngine
from spanhouse.store.dead_letter import DeadLetterFile
from spanhouse.store.schema import create_schema, enable_deduplication
from spanhouse.store.writer import TraceWriter
from spanhouse.telemetry import Telemetry
from spanhouse.wal.feeder import Feeder
from spanhouse.wal.health import Health
from spanhouse.wal.log import WriteAheadLog

log = logging.getLogger("spanhouse")

SHUTDOWN_TIMEOUT_S = 40.0


LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Grafana Tempo's HTTP API: Tempo's own default port. Given by --tempo, a port that cannot be
# had stops start-up like any other; the default one, when taken (a local Tempo, a second
# spanhouse), is skipped with a warning: it is a second door to the same data.
DEFAULT_TEMPO = "localhost:3200"
# The query ports: they stop last, after the receivers have drained.
QUERY_PORTS = ("ui", "tempo")
# The query/UI port's paths open without credentials: load balancers probe them.
OPEN_PATHS = ("/healthz", "/readyz")


def split_host_port(address: str, flag: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{flag} {address!r}: expected HOST:PORT, e.g. localhost:4317, "
                          "0.0.0.0:4317 (every interface) or 127.0.0.1:0")
    host = host.strip("[]") or "0.0.0.0"  # ":4317": every interface, as Go's net.Listen
    return host, int(port)


def _bound(server: Server) -> str:
    sock = server.servers[0].sockets[0]
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def _notes(security: ListenerSecurity) -> str:
    return f" ({security.describe})" if security.describe else ""


class SpanhouseServer:
    def __init__(self, settings: ServeSettings, tempo: str | None = None):
        self.settings = settings
        # --tempo: the Tempo API's address (None: DEFAULT_TEMPO, skipped when taken).
        self.tempo = tempo or DEFAULT_TEMPO
        self.tempo_explicit = tempo is not None
        self.telemetry = Telemetry()
        self.ready = False
        self.store_exporters: list[StoreExporter] = []
        self._stop = asyncio.Event()

    def _prepare_store(self) -> None:
        """Create the schema (unless told not to) and deduplicate replayed inserts."""
        s = self.settings
        client = self._open_client()
        if s.create_schema:
            create_schema(client, s.database, s.table, s.ttl_days, s.table_engine, s.cluster_name)
        try:
            enable_deduplication(client, s.database, s.table, cluster=s.cluster_name)
        except StoreError as exc:  # e.g. a user without ALTER: inserts work, replays may repeat
            log.warning("replayed inserts will not be deduplicated: %s", exc)
        client.close()

    def _open_client(self, settings: dict | None = None):
        """A new client of the store: the schema set-up, the writer and each reader have their
        own. On a server: the exporter's ``compress``, and ``settings`` for every query."""
        s = self.settings
        server = not s.effective_store_endpoint.startswith(CHDB_SCHEME)
        return open_client(s.effective_store_endpoint, s.database,
                           settings=settings if server else None,
                           compress=client_compression(s.compress) if server else None)

    def _open_reader(self):
        """A reader of the pool: on a cluster, joins and IN subqueries stay shard-local (one
        trace's rows live on one shard: the Distributed tables shard by its id)."""
        return self._open_client(CLUSTER_READ_SETTINGS if self.settings.cluster_name else None)

    def _open_writer(self) -> TraceWriter:
        """Called by a store exporter's writer thread when it starts, after ``_prepare_store``.
        On a server: the cluster's synchronous Distributed insert and the exporter's
        ``async_insert`` (spanhouse.store.cluster.insert_settings)."""
        s = self.settings
        replicated = s.table_engine.startswith(("Replicated", "Shared"))
        return TraceWriter(self._open_client(insert_settings(s.cluster_name, s.async_insert,
                                                             replicated)), s.database, s.table)

    def _store_exporter(self) -> StoreExporter:
        """The ``clickhouse`` exporter: writes to the store the queries read. Opens nothing
        until the pipeline starts."""
        s = self.settings
        exporter = StoreExporter(self._open_writer, self.telemetry, max_queue_spans=s.max_queue_spans,
                                 dead_letter=DeadLetterFile(s.data))
        self.store_exporters.append(exporter)
        return exporter

    def _load_security(self) -> dict:
        """Start the authenticators and load every listener's TLS (its SSL context, or the
        gRPC server credentials): an unreadable file is a ``ConfigError`` located in the
        config file, raised before the store or any port is touched."""
        s = self.settings
        located = s.collector.document.locate if s.collector is not None else (lambda e: e)
        loaded: dict = {}
        try:
            for authenticator in s.authenticators.values():
                authenticator.start()
            for name, security in s.security.items():
                if security.tls is None or (name != "ui" and not getattr(s, name)):
                    continue
                loaded[name] = (server_tls.grpc_credentials(security.tls, "OTLP/gRPC")
                                if name == "grpc" else server_tls.ssl_context(security.tls))
        except ConfigError as exc:
            raise located(exc) from None
        return loaded

    def _security(self, name: str) -> ListenerSecurity:
        return self.settings.security.get(name) or ListenerSecurity()

    def _authenticator(self, security: ListenerSecurity):
        if not security.authenticator:
            return None
        return self.settings.authenticators[security.authenticator]  # checked by the config

    @staticmethod
    def _warn_if_open(name: str, host: str, security: ListenerSecurity) -> None:
        if host not in LOOPBACK and not security.authenticator:
            log.warning("--%s listens on %s, reachable from other hosts, with no authenticator: "
                        "anyone who can connect may %s (docs/security.md)", name, host,
                        "read every trace" if name in QUERY_PORTS else "send spans")

    def build_pipeline(self) -> Pipeline:
        """The configured traces pipeline (or the default: no processor, the store)."""
        return build_pipeline(self.settings, BuildContext(self.telemetry, store=self._store_exporter))

    async def run(self) -> int:
        s = self.settings
        names = [n for n in ("grpc", "http", "zipkin") if getattr(s, n)] + ["ui"]
        addresses = {name: split_host_port(getattr(s, name), f"--{name}") for name in names}
        addresses["tempo"] = split_host_port(self.tempo, "--tempo")
        loop = asyncio.get_running_loop()

        # Build (and so validate) every component before touching the store or a port; the
        # files the authenticators and TLS settings name are read now too.
        pipeline = self.build_pipeline()
        contexts = self._load_security()
        await loop.run_in_executor(None, self._prepare_store)
        await loop.run_in_executor(None, pipeline.start)

        # The write-ahead log: what an earlier run acknowledged but did not store goes first.
        wal = WriteAheadLog(os.path.join(s.data, "wal"), max_bytes=s.wal_max_bytes,
                            sync=s.wal_sync)
        replay = await loop.run_in_executor(None, wal.open)
        # The native INSERT is proven on embedded chDB; a ClickHouse server takes the Python
        # path until it is tested against one (CLICKHOUSE_URL).
        store_only = not pipeline.processors and all(
            isinstance(e, StoreExporter) for e in pipeline.exporters
        ) and s.effective_store_endpoint.startswith("chdb://")
        feeder = Feeder(wal, pipeline, s.queue_bytes, self.telemetry,
                        exactly_once=not pipeline.processors,
                        native=store_only and s.native_insert)
        feeder.load(replay)
        if pipeline.processors and replay.pending:
            # Regrouped batches carry no log token: the store looks replayed spans up instead.
            for exporter in self.store_exporters:
                exporter.replayed_through = replay.pending[-1].seq
        wal.on_commit = feeder.on_commit
        wal.start()
        feeder.start()
        health = Health(wal, feeder, self.store_exporters, lambda: self.ready)
        health.register(self.telemetry)
        ingest = Ingest(wal, self.telemetry)
        readers = Pool(self._open_reader, size=4)
        limits: dict = {}
        if s.max_concurrent_queries is not None:
            limits["max_concurrent_queries"] = s.max_concurrent_queries
        if s.query_timeout_s is not None:
            limits["query_timeout_s"] = s.query_timeout_s
        query = QueryService(readers, s.database, s.table, **limits)
        analysis = AnalysisStore(readers, s.database, s.table, query)
        engine = TraceQLEngine(analysis)

        grpc_server = None
        if "grpc" in addresses:
            security = self._security("grpc")
            authenticator = self._authenticator(security)
            interceptors = [AuthInterceptor(authenticator, lambda reason: ingest.refused(
                otlp_grpc.RECEIVER, reason))] if authenticator else []
            grpc_server = otlp_grpc.create_server(ingest, s.max_request_bytes,
                                                  interceptors=interceptors)
            host, port = addresses["grpc"]
            try:
                bound_port = (grpc_server.add_secure_port(f"{host}:{port}", contexts["grpc"])
                              if security.tls else grpc_server.add_insecure_port(f"{host}:{port}"))
            except RuntimeError:
                bound_port = 0
            if bound_port == 0:
                raise ConfigError(f"--grpc {s.grpc}: cannot listen there (address in use?)")
            await grpc_server.start()
            self._warn_if_open("grpc", host, security)
            print(f"OTLP/gRPC   listening on {host}:{bound_port}{_notes(security)}", flush=True)

        http_servers = {
            "http": ("OTLP/HTTP  ", lambda: otlp_http.create_app(ingest, s.max_request_bytes)),
            "zipkin": ("Zipkin v2  ", lambda: zipkin.create_app(ingest, s.max_request_bytes)),
            "ui": ("Query/UI   ", lambda: create_ui_app(query, self.telemetry, lambda: self.ready, analysis,
                                                         readiness=health.readiness, traceql=engine)),
            "tempo": ("Tempo API  ", lambda: create_tempo_app(engine, query, self.telemetry,
                                                               reader=analysis)),
        }
        http_servers = {k: v for k, v in http_servers.items() if k in addresses}
        servers: list[Server] = []
        names_of: dict[int, str] = {}
        reloads: list[asyncio.Task] = []
        for name, (label, make_app) in http_servers.items():
            host, port = addresses[name]
            # The Tempo API is a query port: the query port's authenticator and TLS guard it.
            security = self._security("ui" if name == "tempo" else name)
            receiver = {"http": otlp_http.RECEIVER, "zipkin": zipkin.RECEIVER}.get(name)
            app = HttpGuard(
                make_app(), authenticator=self._authenticator(security),
                # Receivers: an Origin must be allowed by cors (none is, without it).
                cors=(security.cors or Cors()) if receiver else None,
                open_paths=OPEN_PATHS if name == "ui" else (),
                methods="POST" if receiver else "GET, POST",
                on_refused=(lambda reason, r=receiver: ingest.refused(r, reason)) if receiver
                else None)
            context = contexts.get("ui" if name == "tempo" else name)
            ssl_args = server_tls.uvicorn_ssl(security.tls, context) if context else None
            if ssl_args:  # the context is ours (min_version, reload): given after load()
                ssl_args.pop("ssl_context_factory")
            server = uvicorn_server(app, host, port, ssl=ssl_args)
            server.config.load()
            if context is not None:
                server.config.ssl = context
                if security.tls.reload_interval_s and name != "tempo":  # the UI's task reloads it
                    reloads.append(asyncio.create_task(server_tls.reload_forever(
                        context, security.tls, label.strip())))
            server.lifespan = server.config.lifespan_class(server.config)
            try:
                await server.startup()
            except SystemExit:  # uvicorn exits when it cannot bind
                server.should_exit = True
            if server.should_exit or not server.servers:
                if name == "tempo" and not self.tempo_explicit:
                    log.warning("Grafana Tempo's API is not served: %s is taken (a Tempo?); "
                                "give --tempo HOST:PORT to serve it elsewhere", self.tempo)
                    continue
                await _close_listeners(grpc_server, servers)
                address = self.tempo if name == "tempo" else getattr(s, name)
                raise ConfigError(f"--{name} {address}: cannot listen there (address in use?)")
            servers.append(server)
            names_of[id(server)] = name
            self._warn_if_open(name, host, security)
            print(f"{label} listening on {_bound(server)}{_notes(security)}", flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):  # before the line that says we are up
            loop.add_signal_handler(sig, self._stop.set)
        print(f"store: {s.printable_store_endpoint} (database {s.database}, table {s.table})",
              flush=True)
        self.ready = True
        main_loops = [asyncio.create_task(server.main_loop()) for server in servers]
        await self._stop.wait()

        # Stop accepting: receivers first, so nothing new arrives while we drain.
        print("shutting down: draining the write queue into the store", flush=True)
        self.ready = False
        loops = dict(zip((id(server) for server in servers), main_loops))
        receivers = [x for x in servers if names_of[id(x)] not in QUERY_PORTS]
        query_ports = [x for x in servers if names_of[id(x)] in QUERY_PORTS]
        for server in receivers:
            server.should_exit = True
        if grpc_server is not None:
            await grpc_server.stop(grace=5)
        await asyncio.gather(*(loops[id(server)] for server in receivers))
        for server in receivers:
            await server.shutdown()
        await loop.run_in_executor(None, ingest.shutdown)
        await loop.run_in_executor(None, feeder.stop, SHUTDOWN_TIMEOUT_S / 2)
        # What the pipeline has not stored by then stays in the log (reported below).
        await loop.run_in_executor(None, pipeline.shutdown, SHUTDOWN_TIMEOUT_S / 2)
        await loop.run_in_executor(None, feeder.update_release)
        await loop.run_in_executor(None, wal.close)
        for server in query_ports:
            server.should_exit = True
        await asyncio.gather(*(loops[id(server)] for server in query_ports))
        for server in query_ports:
            await server.shutdown()
        await loop.run_in_executor(None, readers.close)
        for task in reloads:
            task.cancel()
        left = wal.bytes_used if wal.released < wal.last_seq else 0
        print("stopped" if not left else
              f"stopped; spans not stored yet stay in the write-ahead log ({left} bytes) and are "
              "stored at the next start", flush=True)
        return 0


class _Redacting(logging.Formatter):
    """Log lines with any URL's password masked (an error message may quote the store's)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


async def _close_listeners(grpc_server, servers: list) -> None:
    """Stop what already listens when a later port cannot be had: a gRPC server left to the
    garbage collector after the loop closed prints a traceback under the one-line error."""
    if grpc_server is not None:
        await grpc_server.stop(grace=0)
    for server in servers:
        server.should_exit = True
        await server.shutdown()


def serve(settings: ServeSettings, tempo: str | None = None) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return asyncio.run(SpanhouseServer(settings, tempo).run())
