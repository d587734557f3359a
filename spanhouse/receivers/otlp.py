"""The collector's ``otlp`` receiver, as a component: its settings, parsed and checked.

``protocols.grpc`` is served by ``spanhouse.receivers.otlp_grpc`` and ``protocols.http`` by
``spanhouse.receivers.otlp_http``. The factory only reads where they listen and how large a
request may be: the server starts the listeners itself (one of each), after the store.
Each protocol's ``tls`` and ``auth`` (and HTTP's ``cors``) are read with the collector's keys
(``spanhouse.config.listener``); the default endpoints are on ``localhost``, as the
collector's since 2024: say ``0.0.0.0:4317`` to be reachable from other hosts. Transport tuning
the collector has and Spanhouse does not use (buffer sizes...) is accepted, so a collector
config loads unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.component import BuildContext, Factory
from spanhouse.config.listener import ListenerSecurity, parse_security
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError

MIB = 1024 * 1024
GRPC_FIELDS = ("endpoint", "transport", "max_recv_msg_size_mib", "max_concurrent_streams",
               "read_buffer_size", "write_buffer_size", "keepalive", "include_metadata",
               "tls", "auth")
HTTP_FIELDS = ("endpoint", "max_request_body_size", "traces_url_path", "cors",
               "include_metadata", "compression_algorithms", "tls", "auth")


@dataclass(frozen=True)
class OtlpReceiverSettings:
    """Where the receiver listens (None: that protocol is not configured) and its request
    size limit (None: the server's default)."""
    grpc: str | None = None
    http: str | None = None
    max_request_bytes: int | None = None
    grpc_security: ListenerSecurity = ListenerSecurity()
    http_security: ListenerSecurity = ListenerSecurity()

    @property
    def security(self) -> dict[str, ListenerSecurity]:
        return {name: sec for name, address, sec in (
            ("grpc", self.grpc, self.grpc_security), ("http", self.http, self.http_security))
            if address}

    @property
    def describe(self) -> str:
        parts = []
        for name, address, sec in (("grpc", self.grpc, self.grpc_security),
                                   ("http", self.http, self.http_security)):
            if address:
                parts.append(f"{name} {address}" + (f" [{sec.describe}]" if sec.describe else ""))
        return ", ".join(parts)


def parse_settings(section: Section) -> OtlpReceiverSettings:
    protocols = section.allow("protocols").section("protocols").allow("grpc", "http")
    if not protocols.data:
        raise ConfigError("the otlp receiver needs protocols: grpc and/or http", protocols.key)
    grpc = http = None
    max_bytes = None
    grpc_security = http_security = ListenerSecurity()
    if protocols.has("grpc"):
        g = protocols.section("grpc").allow(*GRPC_FIELDS)
        grpc = g.string("endpoint", "localhost:4317")
        grpc_security = parse_security(g, http=False)
        tls = grpc_security.tls
        if tls is not None and (tls.min_version != "1.2" or tls.max_version):
            name = "max_version" if tls.max_version else "min_version"
            raise ConfigError("cannot be honoured on the gRPC listener: grpcio negotiates TLS "
                              "1.2 or 1.3 and has no version setting; remove it",
                              f"{g.key_of('tls')}.{name}")
        g.string("transport", "tcp", choices=["tcp"])
        mib = g.integer("max_recv_msg_size_mib", 0, minimum=0)
        if mib:
            max_bytes = mib * MIB
    if protocols.has("http"):
        h = protocols.section("http").allow(*HTTP_FIELDS)
        http = h.string("endpoint", "localhost:4318")
        http_security = parse_security(h, http=True)
        h.string("traces_url_path", "/v1/traces", choices=["/v1/traces"])
        size = h.integer("max_request_body_size", 0, minimum=0)
        if size:
            max_bytes = size
    return OtlpReceiverSettings(grpc, http, max_bytes, grpc_security, http_security)


def _create(component_id: str, section: Section, context: BuildContext) -> OtlpReceiverSettings:
    return parse_settings(section)


FACTORY = Factory("receiver", "otlp", _create)
