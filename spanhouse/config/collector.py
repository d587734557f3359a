"""The collector config's structure: components, the traces pipeline, and the receivers.

``parse_collector(doc)`` checks what every collector config must get right before any
component is built: known top-level sections, component ids (``type`` or ``type/name``) of
known types (``spanhouse.components``), a ``service.pipelines.traces`` whose every entry is
defined, and the receivers' settings (where they listen, their ``tls``, ``auth`` and
``cors``). The ``extensions`` listed in ``service.extensions`` are built (the authenticators)
and every ``auth.authenticator`` must name one of them. ``query`` is Spanhouse's own section
(``spanhouse.config.query``). Each processor's and exporter's own fields are checked by its
factory when the pipeline is built (``CollectorConfig.build``); the parsed config keeps its
document, so those errors are located in the file the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from spanhouse.component import BuildContext, Factory
from spanhouse.config.document import ConfigDocument
from spanhouse.config.listener import ListenerSecurity
from spanhouse.config.query import QuerySettings, parse_query
from spanhouse.config.section import Section, suggest
from spanhouse.errors import ConfigError

log = logging.getLogger(__name__)

KINDS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter"}
TOP_LEVEL = ("receivers", "processors", "exporters", "service", "extensions", "connectors",
             "query")


@dataclass(frozen=True)
class Component:
    id: str          # as written: "tail_sampling" or "tail_sampling/seed"
    type: str        # "tail_sampling"
    key: str         # dotted path in the document: "processors.tail_sampling/seed"
    settings: dict
    factory: Factory  # its type's, from spanhouse.components

    def section(self) -> Section:
        return Section(self.settings, self.key)


@dataclass(frozen=True)
class ReceiverEndpoints:
    """Where the pipeline's receivers listen (None: not in the pipeline)."""
    grpc: str | None = None
    http: str | None = None
    zipkin: str | None = None
    max_request_bytes: int | None = None
    # Who may talk to each listener ("grpc", "http", "zipkin"): TLS, authenticator, CORS.
    security: dict[str, ListenerSecurity] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectorConfig:
    document: ConfigDocument
    receivers: tuple[Component, ...]
    processors: tuple[Component, ...]
    exporters: tuple[Component, ...]
    # What each receiver's factory read from its settings (where it listens), in order.
    receiver_settings: tuple[Any, ...] = ()
    # The extensions of service.extensions, built (id -> authenticator).
    extensions: dict[str, Any] = field(default_factory=dict)
    query: QuerySettings = QuerySettings()

    @property
    def path(self) -> str:
        return self.document.path

    @property
    def endpoints(self) -> ReceiverEndpoints:
        """The listeners the server starts, one per protocol (when several receivers set one,
        the last one's wins)."""
        values: dict = {"security": {}}
        for settings in self.receiver_settings:
            for name in ("grpc", "http", "zipkin", "max_request_bytes"):
                if getattr(settings, name, None):
                    values[name] = getattr(settings, name)
            values["security"].update(getattr(settings, "security", {}))
        return ReceiverEndpoints(**values)

    def build(self, component: Component, context: BuildContext) -> Any:
        """``component`` made by its factory (settings checked, nothing started); a
        ``ConfigError`` comes out located in the file (``FILE:LINE: KEY: problem``)."""
        try:
            return component.factory.create(component.id, component.section(), context)
        except ConfigError as exc:
            raise self.document.locate(exc) from None


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
    # The component modules (grpc, httpx, numpy...) load when a config is read, not with every
    # CLI command.
    from spanhouse.components import factory, types
    from spanhouse.telemetry import Telemetry

    data = doc.data
    for name in data:
        if name not in TOP_LEVEL:
            raise ConfigError(f"unknown section{suggest(str(name), TOP_LEVEL)}; the sections are "
                              "receivers, processors, exporters, extensions, service and query",
                              str(name))
    if data.get("connectors"):
        log.warning("%s: connectors are not used by Spanhouse; ignored", doc.path)

    defined: dict[str, dict[str, Component]] = {}
    for section_name, kind in KINDS.items():
        known = types(kind)
        section = Section(data.get(section_name), section_name)
        defined[section_name] = {}
        for component_id, settings in section.data.items():
            component_id = str(component_id)
            key = f"{section_name}.{component_id}"
            ctype = component_id.split("/", 1)[0]
            if ctype not in known:
                raise ConfigError(
                    f"unknown {kind} type {ctype!r}{suggest(ctype, known)}; "
                    f"Spanhouse has: {', '.join(known)}", key)
            if settings is not None and not isinstance(settings, dict):
                raise ConfigError("expected a mapping of settings (or nothing for the defaults)", key)
            defined[section_name][component_id] = Component(
                component_id, ctype, key, settings or {}, factory(kind, ctype))

    service = Section(data.get("service"), "service")
    extensions = _extensions(data, service)
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
        names = traces.strings(kind, []) if kind == "processors" else traces.strings(kind)
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
    # Receivers record nothing while their settings are read: a throwaway Telemetry.
    context = BuildContext(Telemetry())
    receivers = tuple(c.factory.create(c.id, c.section(), context) for c in chosen["receivers"])
    query = parse_query(Section(data.get("query"), "query"))
    securities = [s for r in receivers for s in getattr(r, "security", {}).values()]
    for security in (*securities, query.security):
        if security.authenticator and security.authenticator not in extensions:
            known = list(extensions)
            raise ConfigError(
                f"authenticator {security.authenticator!r} not found{suggest(security.authenticator, known)}: "
                "define it under extensions and list it in service.extensions "
                f"(enabled: {', '.join(known) or 'none'})", security.authenticator_key)
    return CollectorConfig(doc, chosen["receivers"], chosen["processors"], chosen["exporters"],
                           receivers, extensions, query)


def _extensions(data: dict, service: Section) -> dict[str, Any]:
    """The extensions listed in ``service.extensions``, built by their factories (an
    extension defined and not listed is not used, as in the collector)."""
    from spanhouse.components import factory, types
    from spanhouse.telemetry import Telemetry

    known = types("extension")
    section = Section(data.get("extensions"), "extensions")
    defined: dict[str, Component] = {}
    for component_id, settings in section.data.items():
        component_id = str(component_id)
        key = f"extensions.{component_id}"
        ctype = component_id.split("/", 1)[0]
        if ctype not in known:
            raise ConfigError(f"unknown extension type {ctype!r}{suggest(ctype, known)}; "
                              f"Spanhouse has: {', '.join(known)}", key)
        if settings is not None and not isinstance(settings, dict):
            raise ConfigError("expected a mapping of settings", key)
        defined[component_id] = Component(component_id, ctype, key, settings or {},
                                          factory("extension", ctype))
    names = service.strings("extensions", [])
    built: dict[str, Any] = {}
    context = BuildContext(Telemetry())
    for i, name in enumerate(names):
        if name not in defined:
            raise ConfigError(f"{name!r} is not defined under extensions"
                              f"{suggest(name, list(defined))}", f"service.extensions[{i}]")
        c = defined[name]
        built[name] = c.factory.create(c.id, c.section(), context)
    return built
