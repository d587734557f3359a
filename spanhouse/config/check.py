"""``spanhouse config check FILE``: validate a config completely and describe the effective
traces pipeline (every component is built, nothing is started)."""

from __future__ import annotations

from spanhouse.config.registry import describe
from spanhouse.config.settings import settings_from_config
from spanhouse.pipeline import build_pipeline
from spanhouse.telemetry import Telemetry


class _StorePlaceholder:
    name = "clickhouse"


def check_config(path: str) -> str:
    settings = settings_from_config(path)
    collector = settings.collector
    pipeline = build_pipeline(settings, Telemetry(), _StorePlaceholder)
    receivers = []
    for c in collector.receivers:
        if c.type == "otlp":
            parts = [f"grpc {settings.grpc}" if settings.grpc else "",
                     f"http {settings.http}" if settings.http else ""]
            receivers.append(f"{c.id} ({', '.join(p for p in parts if p)})")
        else:
            receivers.append(f"{c.id} ({settings.zipkin})")
    processors = [describe(c, p) for c, p in zip(collector.processors, pipeline.processors)]
    exporters = []
    for c, e in zip(collector.exporters, pipeline.exporters):
        if c.type == "clickhouse":
            exporters.append(f"{c.id} ({settings.effective_store_endpoint}, "
                             f"{settings.database}.{settings.table}, ttl "
                             f"{settings.ttl_days or 'none'}{' days' if settings.ttl_days else ''})")
        else:
            exporters.append(describe(c, e))
    lines = [f"{path}: valid", "traces pipeline:",
             f"  receivers:  {', '.join(receivers)}",
             f"  processors: {' -> '.join(processors) if processors else '(none)'}",
             f"  exporters:  {', '.join(exporters)}"]
    return "\n".join(lines)
