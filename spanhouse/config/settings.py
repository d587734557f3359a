"""Effective settings of ``spanhouse serve``: a flag overrides the config file, which overrides
the default (DESIGN.md, "Ports and flags")."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from spanhouse.config.loader import load_yaml, parse_go_duration
from spanhouse.errors import ConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    grpc: str = "0.0.0.0:4317"
    http: str = "0.0.0.0:4318"
    zipkin: str = "0.0.0.0:9411"
    ui: str = "0.0.0.0:16686"
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

    @property
    def effective_store_endpoint(self) -> str:
        return self.store_endpoint or f"chdb://{self.data}"

    def with_overrides(self, **overrides) -> "ServeSettings":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _get(doc: dict, *keys):
    node = doc
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def settings_from_config(path: str) -> ServeSettings:
    """Read what ``serve`` needs from a collector YAML file (receivers' endpoints and the
    ``clickhouse`` exporter)."""
    doc = load_yaml(path)
    values: dict = {"config": path}
    grpc = _get(doc, "receivers", "otlp", "protocols", "grpc", "endpoint")
    http = _get(doc, "receivers", "otlp", "protocols", "http", "endpoint")
    zipkin = _get(doc, "receivers", "zipkin", "endpoint")
    for key, value in (("grpc", grpc), ("http", http), ("zipkin", zipkin)):
        if value is not None:
            values[key] = str(value)
    ch = _get(doc, "exporters", "clickhouse")
    if isinstance(ch, dict):
        if ch.get("endpoint"):
            endpoint = str(ch["endpoint"])
            if not endpoint.startswith(("chdb://", "http://", "https://")):
                raise ConfigError(
                    f"{path}: exporters.clickhouse.endpoint {endpoint!r} is not supported; "
                    "use chdb://PATH (embedded) or http(s)://host:8123")
            values["store_endpoint"] = endpoint
        for key, attr in (("database", "database"), ("traces_table_name", "table")):
            if ch.get(key):
                values[attr] = str(ch[key])
        if ch.get("ttl") not in (None, "", 0):
            try:
                values["ttl_days"] = math.ceil(parse_go_duration(ch["ttl"]) / 86400)
            except ValueError as exc:
                raise ConfigError(f"{path}: exporters.clickhouse.ttl: {exc}; e.g. ttl: 72h") from None
        if "create_schema" in ch:
            if not isinstance(ch["create_schema"], bool):
                raise ConfigError(f"{path}: exporters.clickhouse.create_schema must be true or false")
            values["create_schema"] = ch["create_schema"]
    known = {f.name for f in fields(ServeSettings)}
    return ServeSettings(**{k: v for k, v in values.items() if k in known})
