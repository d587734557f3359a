"""The collector's ``otlp`` receiver, as a component: its settings, parsed and checked.

``protocols.grpc`` is served by ``spanhouse.receivers.otlp_grpc`` and ``protocols.http`` by
``spanhouse.receivers.otlp_http``. The factory only reads where they listen and how large a
request may be: the server starts the listeners itself (one of each), after the store.
Settings the collector has and Spanhouse does not use (buffer sizes, keepalive, cors...) are
accepted, so a collector config loads unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError

MIB = 1024 * 1024
GRPC_FIELDS = ("endpoint", "transport", "max_recv_msg_size_mib", "max_concurrent_streams",
               "read_buffer_size", "write_buffer_size", "keepalive", "include_metadata")
HTTP_FIELDS = ("endpoint", "max_request_body_size", "traces_url_path", "cors",
               "include_metadata", "compression_algorithms")


@dataclass(frozen=True)
class OtlpReceiverSettings:
    """Where the receiver listens (None: that protocol is not configured) and its request
    size limit (None: the server's default)."""
    grpc: str | None = None
    http: str | None = None
    max_request_bytes: int | None = None

    @property
    def describe(self) -> str:
        return ", ".join(f"{name} {address}" for name, address in
                         (("grpc", self.grpc), ("http", self.http)) if address)


def parse_settings(section: Section) -> OtlpReceiverSettings:
    protocols = section.allow("protocols").section("protocols").allow("grpc", "http")
    if not protocols.data:
        raise ConfigError("the otlp receiver needs protocols: grpc and/or http", protocols.key)
    grpc = http = None
    max_bytes = None
    if protocols.has("grpc"):
        g = protocols.section("grpc").allow(*GRPC_FIELDS)
        grpc = g.string("endpoint", "0.0.0.0:4317")
        g.string("transport", "tcp", choices=["tcp"])
        mib = g.integer("max_recv_msg_size_mib", 0, minimum=0)
        if mib:
            max_bytes = mib * MIB
    if protocols.has("http"):
        h = protocols.section("http").allow(*HTTP_FIELDS)
        http = h.string("endpoint", "0.0.0.0:4318")
        h.string("traces_url_path", "/v1/traces", choices=["/v1/traces"])
        size = h.integer("max_request_body_size", 0, minimum=0)
        if size:
            max_bytes = size
    return OtlpReceiverSettings(grpc, http, max_bytes)


def _create(component_id: str, section: Section, context: BuildContext) -> OtlpReceiverSettings:
    return parse_settings(section)


FACTORY = Factory("receiver", "otlp", _create)
