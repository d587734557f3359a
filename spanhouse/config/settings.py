"""Effective settings of ``spanhouse serve``: a flag overrides the config file, which overrides
the default (DESIGN.md, "Ports and flags"). Every listener binds ``localhost`` unless told
otherwise (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from spanhouse.config.collector import CollectorConfig, parse_collector
from spanhouse.config.document import load_document
from spanhouse.config.listener import ListenerSecurity
from spanhouse.config.query import DEFAULT_ENDPOINT
from spanhouse.config.redact import redact
from spanhouse.errors import ConfigError
from spanhouse.exporters.clickhouse import parse_store_settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    # A receiver address of None: not in the config's pipeline (not started unless its flag
    # is given).
    grpc: str | None = "localhost:4317"
    http: str | None = "localhost:4318"
    zipkin: str | None = "localhost:9411"
    ui: str = DEFAULT_ENDPOINT
    data: str = "./spanhouse-data"
    config: str | None = None
    # The store: the `clickhouse` exporter. None means embedded chDB at `data`.
    store_endpoint: str | None = None
    database: str = "default"
    table: str = "otel_traces"
    ttl_days: int = 0
    create_schema: bool = True
    max_request_bytes: int = 16 * MIB
    max_queue_spans: int = 200_000
    # The write-ahead log under `data` (spanhouse.wal): its size on disk, whether every
    # acknowledgement waits for fsync, and the memory for decoded spans between log and store.
    wal_max_bytes: int = 512 * MIB
    wal_sync: bool = True
    queue_bytes: int = 256 * MIB
    # With nothing but the store after the receivers, ClickHouse parses the logged protobuf
    # itself (spanhouse.store.native_insert) instead of Python decoding it.
    native_insert: bool = True
    table_engine: str = "MergeTree()"
    # The exporter's cluster keys (spanhouse.store.cluster, docs/storage.md "A ClickHouse
    # cluster"): ON CLUSTER DDL with local + Distributed tables; on a server, async inserts
    # that wait for the flush, and the HTTP compression (clickhouse-connect's ``compress``).
    cluster_name: str = ""
    async_insert: bool = True
    compress: str = "lz4"
    # The parsed collector config (receivers, processors, exporters of the traces pipeline);
    # None: the default pipeline (every receiver, no processor, the store).
    collector: CollectorConfig | None = None
    # Who may talk to each listener ("grpc", "http", "zipkin", "ui"): TLS, auth, CORS; and the
    # authenticators they name (extension id -> authenticator).
    security: dict[str, ListenerSecurity] = field(default_factory=dict)
    authenticators: dict[str, Any] = field(default_factory=dict)
    # The query port's limits (``query:``); None: the query service's defaults.
    max_concurrent_queries: int | None = None
    query_timeout_s: float | None = None

    @property
    def effective_store_endpoint(self) -> str:
        return self.store_endpoint or f"chdb://{self.data}"

    @property
    def printable_store_endpoint(self) -> str:
        """The store endpoint as printed and logged: its password masked."""
        return redact(self.effective_store_endpoint)

    def with_overrides(self, **overrides) -> "ServeSettings":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def settings_from_config(path: str) -> ServeSettings:
    """Read a collector YAML file: check its structure and pipeline, and take what ``serve``
    needs (the receivers' endpoints and the ``clickhouse`` exporter, which is the store)."""
    doc = load_document(path)
    collector = parse_collector(doc)
    values: dict = {"config": path, "collector": collector}
    ends = collector.endpoints
    for key in ("grpc", "http", "zipkin"):
        values[key] = getattr(ends, key)
    query = collector.query
    if query.endpoint:
        values["ui"] = query.endpoint
    values["security"] = {**ends.security, "ui": query.security}
    values["authenticators"] = dict(collector.extensions)
    values["max_concurrent_queries"] = query.max_concurrent_queries
    values["query_timeout_s"] = query.max_execution_time_s
    if ends.max_request_bytes:
        values["max_request_bytes"] = ends.max_request_bytes
    store = next((c for c in collector.exporters if c.type == "clickhouse"), None)
    if store is not None:
        try:
            values.update(parse_store_settings(store.section()))
        except ConfigError as exc:
            raise doc.locate(exc) from None
    return ServeSettings(**values)
