"""``spanhouse serve``: every listener in one process and one event loop.

Start-up order: the store (schema created, writer thread running), then the receivers, then the
UI port, so ``/healthz`` answers 200 only when everything is ready. On SIGINT/SIGTERM: stop
accepting (receivers first), drain the pipeline into the store, close, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

import uvicorn

from spanhouse.api.app import create_app as create_ui_app
from spanhouse.component import BuildContext
from spanhouse.config.settings import ServeSettings
from spanhouse.errors import ConfigError, StoreError
from spanhouse.exporters.clickhouse import StoreExporter
from spanhouse.pipeline import Pipeline, build_pipeline
from spanhouse.receivers import otlp_grpc, otlp_http, zipkin
from spanhouse.receivers.ingest import Ingest
from spanhouse.store.connection import open_client
from spanhouse.store.pool import Pool
from spanhouse.analysis.store import AnalysisStore
from spanhouse.query.service import QueryService
from spanhouse.store.dead_letter import DeadLetterFile
from spanhouse.store.schema import create_schema, enable_deduplication
from spanhouse.store.writer import TraceWriter
from spanhouse.telemetry import Telemetry
from spanhouse.wal.feeder import Feeder
from spanhouse.wal.health import Health
from spanhouse.wal.log import WriteAheadLog

log = logging.getLogger("spanhouse")

SHUTDOWN_TIMEOUT_S = 40.0


def split_host_port(address: str, flag: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{flag} {address!r}: expected HOST:PORT, e.g. 0.0.0.0:4317 or 127.0.0.1:0")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class _Uvicorn(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _uvicorn(app, host: str, port: int) -> _Uvicorn:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=10)
    return _Uvicorn(config)


def _bound(server: _Uvicorn) -> str:
    sock = server.servers[0].sockets[0]
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


class SpanhouseServer:
    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.telemetry = Telemetry()
        self.ready = False
        self.store_exporters: list[StoreExporter] = []
        self._stop = asyncio.Event()

    def _prepare_store(self) -> None:
        """Create the schema (unless told not to) and deduplicate replayed inserts."""
        s = self.settings
        client = self._open_client()
        if s.create_schema:
            create_schema(client, s.database, s.table, s.ttl_days, s.table_engine)
        try:
            enable_deduplication(client, s.database, s.table)
        except StoreError as exc:  # e.g. a user without ALTER: inserts work, replays may repeat
            log.warning("replayed inserts will not be deduplicated: %s", exc)
        client.close()

    def _open_client(self):
        """A new client of the store: the schema set-up, the writer and each reader have their own."""
        return open_client(self.settings.effective_store_endpoint, self.settings.database)

    def _open_writer(self) -> TraceWriter:
        """Called by a store exporter's writer thread when it starts, after ``_prepare_store``."""
        s = self.settings
        return TraceWriter(self._open_client(), s.database, s.table)

    def _store_exporter(self) -> StoreExporter:
        """The ``clickhouse`` exporter: writes to the store the queries read. Opens nothing
        until the pipeline starts."""
        s = self.settings
        exporter = StoreExporter(self._open_writer, self.telemetry, max_queue_spans=s.max_queue_spans,
                                 dead_letter=DeadLetterFile(s.data))
        self.store_exporters.append(exporter)
        return exporter

    def build_pipeline(self) -> Pipeline:
        """The configured traces pipeline (or the default: no processor, the store)."""
        return build_pipeline(self.settings, BuildContext(self.telemetry, store=self._store_exporter))

    async def run(self) -> int:
        s = self.settings
        names = [n for n in ("grpc", "http", "zipkin") if getattr(s, n)] + ["ui"]
        addresses = {name: split_host_port(getattr(s, name), f"--{name}") for name in names}
        loop = asyncio.get_running_loop()

        # Build (and so validate) every component before touching the store or a port.
        pipeline = self.build_pipeline()
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
        wal.on_commit = feeder.on_commit
        wal.start()
        feeder.start()
        health = Health(wal, feeder, self.store_exporters, lambda: self.ready)
        health.register(self.telemetry)
        ingest = Ingest(wal, self.telemetry)
        readers = Pool(self._open_client, size=4)
        query = QueryService(readers, s.database, s.table)
        analysis = AnalysisStore(readers, s.database, s.table, query)

        grpc_server = None
        if "grpc" in addresses:
            grpc_server = otlp_grpc.create_server(ingest, s.max_request_bytes)
            host, port = addresses["grpc"]
            bound_port = grpc_server.add_insecure_port(f"{host}:{port}")
            if bound_port == 0:
                raise ConfigError(f"--grpc {s.grpc}: cannot listen there (address in use?)")
            await grpc_server.start()
            print(f"OTLP/gRPC   listening on {host}:{bound_port}", flush=True)

        http_servers = {
            "http": ("OTLP/HTTP  ", lambda: otlp_http.create_app(ingest, s.max_request_bytes)),
            "zipkin": ("Zipkin v2  ", lambda: zipkin.create_app(ingest, s.max_request_bytes)),
            "ui": ("Query/UI   ", lambda: create_ui_app(query, self.telemetry, lambda: self.ready, analysis,
                                                         readiness=health.readiness)),
        }
        http_servers = {k: v for k, v in http_servers.items() if k in addresses}
        servers: list[_Uvicorn] = []
        for name, (label, make_app) in http_servers.items():
            host, port = addresses[name]
            server = _uvicorn(make_app(), host, port)
            server.config.load()
            server.lifespan = server.config.lifespan_class(server.config)
            try:
                await server.startup()
            except SystemExit:  # uvicorn exits when it cannot bind
                server.should_exit = True
            if server.should_exit or not server.servers:
                raise ConfigError(f"--{name} {getattr(s, name)}: cannot listen there (address in use?)")
            servers.append(server)
            print(f"{label} listening on {_bound(server)}", flush=True)
        print(f"store: {s.effective_store_endpoint} (database {s.database}, table {s.table})", flush=True)
        self.ready = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        main_loops = [asyncio.create_task(server.main_loop()) for server in servers]
        await self._stop.wait()

        # Stop accepting: receivers first, so nothing new arrives while we drain.
        print("shutting down: draining the write queue into the store", flush=True)
        self.ready = False
        receivers, ui = servers[:-1], servers[-1]
        for server in receivers:
            server.should_exit = True
        if grpc_server is not None:
            await grpc_server.stop(grace=5)
        await asyncio.gather(*main_loops[:-1])
        for server in receivers:
            await server.shutdown()
        await loop.run_in_executor(None, ingest.shutdown)
        await loop.run_in_executor(None, feeder.stop, SHUTDOWN_TIMEOUT_S / 2)
        # What the pipeline has not stored by then stays in the log (reported below).
        await loop.run_in_executor(None, pipeline.shutdown, SHUTDOWN_TIMEOUT_S / 2)
        await loop.run_in_executor(None, feeder.update_release)
        await loop.run_in_executor(None, wal.close)
        ui.should_exit = True
        await main_loops[-1]
        await ui.shutdown()
        await loop.run_in_executor(None, readers.close)
        left = wal.bytes_used if wal.released < wal.last_seq else 0
        print("stopped" if not left else
              f"stopped; spans not stored yet stay in the write-ahead log ({left} bytes) and are "
              "stored at the next start", flush=True)
        return 0


def serve(settings: ServeSettings) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(SpanhouseServer(settings).run())
