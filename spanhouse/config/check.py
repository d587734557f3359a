"""``spanhouse config check FILE``: validate a config completely and describe the effective
traces pipeline (every component is built by its factory, nothing is started)."""

from __future__ import annotations

from typing import Any

from spanhouse.component import BuildContext
from spanhouse.config.collector import Component
from spanhouse.config.redact import redact
from spanhouse.config.settings import ServeSettings, settings_from_config
from spanhouse.pipeline import build_pipeline
from spanhouse.telemetry import Telemetry


class _StoreStandIn:
    """Stands for the server's store exporter: describes the store, opens nothing."""
    name = "clickhouse"

    def __init__(self, settings: ServeSettings):
        ttl = f"{settings.ttl_days} days" if settings.ttl_days else "none"
        self.describe = (f"{settings.printable_store_endpoint}, "
                         f"{settings.database}.{settings.table}, ttl {ttl}")


def _line(component: Component, built: Any) -> str:
    """The component and its effective main settings, e.g. ``batch`` or ``otlp (grpc ...)``."""
    text = component.factory.describe(built)
    return f"{component.id} ({text})" if text else component.id


def check_config(path: str) -> str:
    settings = settings_from_config(path)
    collector = settings.collector
    context = BuildContext(Telemetry(), store=lambda: _StoreStandIn(settings))
    pipeline = build_pipeline(settings, context)
    receivers = [_line(c, r) for c, r in zip(collector.receivers, collector.receiver_settings)]
    processors = [_line(c, p) for c, p in zip(collector.processors, pipeline.processors)]
    exporters = [_line(c, e) for c, e in zip(collector.exporters, pipeline.exporters)]
    lines = [f"{path}: valid", "traces pipeline:",
             f"  receivers:  {', '.join(receivers)}",
             f"  processors: {' -> '.join(processors) if processors else '(none)'}",
             f"  exporters:  {', '.join(exporters)}"]
    if collector.extensions:
        lines.append("extensions: " + ", ".join(
            f"{name} ({ext.describe})" for name, ext in collector.extensions.items()))
    if collector.query.endpoint or collector.query.security.describe:
        ui = collector.query.security
        lines.append(f"query: {settings.ui}" + (f" [{ui.describe}]" if ui.describe else ""))
    # Nothing above holds a secret (authenticators describe themselves without them); the
    # redaction is the last guard.
    return redact("\n".join(lines))
