"""Component factories, chosen by type name as the collector chooses them.

Building a component validates all of its settings and starts nothing (threads and sockets
start in ``start``), so ``spanhouse config check`` builds the whole pipeline to validate it.
"""

from __future__ import annotations

from typing import Callable

from spanhouse.config.collector import Component
from spanhouse.errors import ConfigError
from spanhouse.pipeline import Exporter, Processor
from spanhouse.telemetry import Telemetry


def build_processor(component: Component, telemetry: Telemetry) -> Processor:
    section = component.section()
    if component.type == "batch":
        from spanhouse.processors.batch import BatchProcessor
        return BatchProcessor.from_config(component.id, section, telemetry)
    if component.type == "memory_limiter":
        from spanhouse.processors.memory_limiter import MemoryLimiter
        return MemoryLimiter.from_config(component.id, section, telemetry)
    if component.type == "probabilistic_sampler":
        from spanhouse.processors.filtering import FilterProcessor
        from spanhouse.processors.probabilistic import ProbabilisticSampler, parse_config
        config = parse_config(section)
        sampler = ProbabilisticSampler(config, name=component.id, telemetry=telemetry)
        return FilterProcessor(component.id, sampler.sample, describe=_describe_config(config))
    if component.type == "tail_sampling":
        from spanhouse.processors.tail_sampling.processor import TailSamplingProcessor
        return TailSamplingProcessor.from_config(component.id, section, telemetry)
    raise ConfigError(f"unknown processor type {component.type!r}", component.key)


def build_exporter(component: Component, telemetry: Telemetry,
                   store_exporter: Callable[[], Exporter]) -> Exporter:
    section = component.section()
    if component.type == "clickhouse":
        return store_exporter()  # its settings are read into ServeSettings (the store)
    if component.type == "otlp":
        from spanhouse.exporters.otlp import OtlpGrpcExporter
        return OtlpGrpcExporter.from_config(component.id, section, telemetry)
    if component.type == "otlphttp":
        from spanhouse.exporters.otlp import OtlpHttpExporter
        return OtlpHttpExporter.from_config(component.id, section, telemetry)
    if component.type == "debug":
        from spanhouse.exporters.debug import DebugExporter
        return DebugExporter.from_config(component.id, section, telemetry)
    raise ConfigError(f"unknown exporter type {component.type!r}", component.key)


def describe(component: Component, built) -> str:
    """One line for ``config check``: the component and its effective main settings."""
    if component.type == "tail_sampling":
        c = built.config
        names = ", ".join(getattr(p, "name", "?") for p in built.policies)
        return (f"{component.id} (decision_wait {c.decision_wait_s:g}s, num_traces {c.num_traces}, "
                f"policies: {names})")
    text = getattr(built, "describe", "")
    return f"{component.id} ({text})" if text else component.id


def _describe_config(config) -> str:
    fields = getattr(config, "__dataclass_fields__", {})
    return ", ".join(f"{k} {getattr(config, k)}" for k in fields)
