"""The collector config's structure: components, the traces pipeline, and the receivers.

``parse_collector(doc)`` checks what every collector config must get right before any
component is built: known top-level sections, component ids (``type`` or ``type/name``) of
known types, and a ``service.pipelines.traces`` whose every entry is defined. Each component's
own fields are checked by its factory (``spanhouse.config.registry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from spanhouse.config.document import ConfigDocument
from spanhouse.config.section import Section, suggest
from spanhouse.errors import ConfigError

log = logging.getLogger(__name__)

RECEIVER_TYPES = ("otlp", "zipkin")
PROCESSOR_TYPES = ("batch", "memory_limiter", "probabilistic_sampler", "tail_sampling")
EXPORTER_TYPES = ("clickhouse", "otlp", "otlphttp", "debug")
KINDS = {"receivers": RECEIVER_TYPES, "processors": PROCESSOR_TYPES, "exporters": EXPORTER_TYPES}
TOP_LEVEL = ("receivers", "processors", "exporters", "service", "extensions", "connectors")


@dataclass(frozen=True)
class Component:
    id: str          # as written: "tail_sampling" or "tail_sampling/seed"
    type: str        # "tail_sampling"
    key: str         # dotted path in the document: "processors.tail_sampling/seed"
    settings: dict

    def section(self) -> Section:
        return Section(self.settings, self.key)


@dataclass(frozen=True)
class ReceiverEndpoints:
    """Where the pipeline's receivers listen (None: not in the pipeline)."""
    grpc: str | None = None
    http: str | None = None
    zipkin: str | None = None
    max_request_bytes: int | None = None


@dataclass(frozen=True)
class CollectorConfig:
    path: str
    receivers: tuple[Component, ...]
    processors: tuple[Component, ...]
    exporters: tuple[Component, ...]
    endpoints: ReceiverEndpoints = field(default_factory=ReceiverEndpoints)


def pipeline_example(doc: dict) -> str:
    """A ``service:`` block built from the components the file defines, to paste."""
    def ids(kind: str, default: list[str]) -> str:
        section = doc.get(kind)
        names = [str(k) for k in section] if isinstance(section, dict) and section else default
        return "[" + ", ".join(names) + "]"

    return ("service:\n  pipelines:\n    traces:\n"
            f"      receivers: {ids('receivers', ['otlp'])}\n"
            f"      processors: {ids('processors', [])}\n"
            f"      exporters: {ids('exporters', ['clickhouse'])}")


def parse_collector(doc: ConfigDocument) -> CollectorConfig:
    try:
        return _parse(doc)
    except ConfigError as exc:
        raise doc.locate(exc) from None


def _parse(doc: ConfigDocument) -> CollectorConfig:
    data = doc.data
    for name in data:
        if name not in TOP_LEVEL:
            raise ConfigError(f"unknown section{suggest(str(name), TOP_LEVEL)}; the sections are "
                              "receivers, processors, exporters and service", str(name))
    if data.get("extensions") or data.get("connectors"):
        log.warning("%s: extensions and connectors are not used by Spanhouse; ignored", doc.path)

    defined: dict[str, dict[str, Component]] = {}
    for kind, types in KINDS.items():
        section = Section(data.get(kind), kind)
        defined[kind] = {}
        for component_id, settings in section.data.items():
            component_id = str(component_id)
            ctype = component_id.split("/", 1)[0]
            if ctype not in types:
                raise ConfigError(
                    f"unknown {kind[:-1]} type {ctype!r}{suggest(ctype, types)}; "
                    f"Spanhouse has: {', '.join(types)}", f"{kind}.{component_id}")
            if settings is not None and not isinstance(settings, dict):
                raise ConfigError("expected a mapping of settings (or nothing for the defaults)",
                                  f"{kind}.{component_id}")
            defined[kind][component_id] = Component(component_id, ctype, f"{kind}.{component_id}",
                                                    settings or {})

    service = Section(data.get("service"), "service")
    pipelines = service.data.get("pipelines")
    if not pipelines:
        raise ConfigError(
            "service.pipelines is missing: nothing says how spans flow. Add a traces pipeline, "
            "for example:\n" + pipeline_example(data))
    pipelines = Section(pipelines, "service.pipelines")
    traces_id = next((p for p in pipelines.data if str(p).split("/", 1)[0] == "traces"), None)
    if traces_id is None:
        raise ConfigError("no traces pipeline: Spanhouse handles traces; add one, for example:\n"
                          + pipeline_example(data), "service.pipelines")
    others = [str(p) for p in pipelines.data if p != traces_id]
    if others:
        log.warning("%s: pipelines %s ignored: Spanhouse handles one traces pipeline",
                    doc.path, ", ".join(others))
    traces = pipelines.section(str(traces_id)).allow("receivers", "processors", "exporters")

    chosen: dict[str, tuple[Component, ...]] = {}
    for kind in KINDS:
        names = traces.strings(kind, [] if kind == "processors" else None) if kind == "processors" \
            else traces.strings(kind)
        if kind != "processors" and not names:
            raise ConfigError(f"the traces pipeline needs at least one of {kind}", traces.key_of(kind))
        if len(set(names)) != len(names):
            raise ConfigError(f"a component is listed twice in {kind}", traces.key_of(kind))
        components = []
        for i, name in enumerate(names):
            if name not in defined[kind]:
                known = list(defined[kind])
                raise ConfigError(
                    f"{name!r} is not defined under {kind}{suggest(name, known)}; "
                    f"define it there or remove it here", f"{traces.key_of(kind)}[{i}]")
            components.append(defined[kind][name])
        chosen[kind] = tuple(components)

    clickhouse = [c for c in chosen["exporters"] if c.type == "clickhouse"]
    if len(clickhouse) > 1:
        raise ConfigError("one clickhouse exporter per pipeline: it is the store the queries read",
                          traces.key_of("exporters"))
    return CollectorConfig(doc.path, chosen["receivers"], chosen["processors"], chosen["exporters"],
                           _endpoints(chosen["receivers"]))


def _endpoints(receivers: tuple[Component, ...]) -> ReceiverEndpoints:
    grpc = http = zipkin = None
    max_bytes = None
    for component in receivers:
        section = component.section()
        if component.type == "otlp":
            protocols = section.allow("protocols").section("protocols").allow("grpc", "http")
            if not protocols.data:
                raise ConfigError("the otlp receiver needs protocols: grpc and/or http",
                                  protocols.key)
            if protocols.has("grpc"):
                g = protocols.section("grpc").allow(
                    "endpoint", "transport", "max_recv_msg_size_mib", "max_concurrent_streams",
                    "read_buffer_size", "write_buffer_size", "keepalive", "include_metadata")
                grpc = g.string("endpoint", "0.0.0.0:4317")
                g.string("transport", "tcp", choices=["tcp"])
                mib = g.integer("max_recv_msg_size_mib", 0, minimum=0)
                if mib:
                    max_bytes = mib * 1024 * 1024
            if protocols.has("http"):
                h = protocols.section("http").allow(
                    "endpoint", "max_request_body_size", "traces_url_path", "cors",
                    "include_metadata", "compression_algorithms")
                http = h.string("endpoint", "0.0.0.0:4318")
                h.string("traces_url_path", "/v1/traces", choices=["/v1/traces"])
                size = h.integer("max_request_body_size", 0, minimum=0)
                if size:
                    max_bytes = size
        elif component.type == "zipkin":
            z = section.allow("endpoint", "parse_string_tags")
            zipkin = z.string("endpoint", "0.0.0.0:9411")
            z.boolean("parse_string_tags", False)
    return ReceiverEndpoints(grpc, http, zipkin, max_bytes)
