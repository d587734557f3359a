"""The ``loadbalancing`` exporter's settings: upstream's ``config.go`` keys, parsed and checked.

``protocol.otlp`` is the ``otlp`` exporter's own section (``spanhouse.exporters.otlp.config``
parses it: tls, headers, compression, timeout, retry_on_failure, sending_queue); its
``endpoint`` is ignored, as upstream says, because each backend's address replaces it. Its
``sending_queue`` becomes the one queue in front of the routing (a batch is only released
once every part of it reached some backend), unless the exporter-level ``sending_queue`` of
newer collectors is given, which then takes precedence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.exporters.otlp.config import (
    GrpcSettings, QueueSettings, RetrySettings, parse_grpc_settings, parse_queue, parse_retry,
)

ROUTING_KEYS = ("traceID", "service")
# upstream's other keys route metrics or logs, or need the attribute router
_OTHER_ROUTING_KEYS = ("resource", "metric", "streamID", "attributes")
_RESOLVERS = ("static", "dns", "k8s", "aws_cloud_map")
_NOT_SUPPORTED_RESOLVERS = {
    "k8s": "there is no Kubernetes client here; use dns with the headless service's name",
    "aws_cloud_map": "use dns or static",
}
_PLACEHOLDER_ENDPOINT = "backend.invalid:4317"  # replaced by each backend's address


@dataclass(frozen=True)
class StaticSettings:
    hostnames: tuple[str, ...]


@dataclass(frozen=True)
class DnsSettings:
    hostname: str
    port: str = ""          # "": the ring hashes bare IPs, dialled on 4317 (as upstream)
    interval_s: float = 5.0
    timeout_s: float = 1.0


@dataclass(frozen=True)
class LoadBalancingSettings:
    routing_key: str
    otlp: GrpcSettings                      # the template; target replaced per backend
    resolver: StaticSettings | DnsSettings
    queue: QueueSettings
    # waits between rounds when every backend failed (exporter-level retry_on_failure)
    rounds: RetrySettings

    def for_endpoint(self, target: str) -> GrpcSettings:
        return dataclasses.replace(self.otlp, target=target)


def parse_settings(section: Section) -> LoadBalancingSettings:
    section.allow("protocol", "resolver", "routing_key", "routing_attributes", "timeout",
                  "sending_queue", "retry_on_failure")
    routing_key = _routing_key(section)
    protocol = section.section("protocol").allow("otlp")
    otlp = _otlp(protocol)
    if section.has("timeout"):  # the exporter-level timeout bounds every attempt too
        otlp = dataclasses.replace(
            otlp, timeout_s=min(otlp.timeout_s, section.duration("timeout", minimum=0.001)))
    queue = (parse_queue(section.section("sending_queue")) if section.has("sending_queue")
             else otlp.queue)
    rounds = parse_retry(section.section("retry_on_failure"))
    if not section.has("retry_on_failure"):
        # no exporter-level retry configured: keep trying every backend until one is back
        # (the write-ahead log holds the batch meanwhile), 1s apart at first
        rounds = dataclasses.replace(rounds, initial_interval=1.0, max_interval=5.0,
                                     max_elapsed_time=0)
    return LoadBalancingSettings(routing_key, otlp, _resolver(section.section("resolver")),
                                 queue, rounds)


def _routing_key(section: Section) -> str:
    value = section.raw("routing_key")
    if value in _OTHER_ROUTING_KEYS or section.has("routing_attributes"):
        name = "routing_attributes" if section.has("routing_attributes") else "routing_key"
        raise section.error(name, f"routing by {value or 'attributes'} is not supported for "
                                  "traces here; use traceID (the default) or service")
    return section.string("routing_key", "traceID", choices=ROUTING_KEYS)


def _otlp(protocol: Section) -> GrpcSettings:
    if not protocol.has("otlp"):
        raise protocol.error("otlp", "is required: the settings of the otlp exporter used "
                                     "for every backend, e.g. otlp: {tls: {insecure: true}}")
    raw = protocol.raw("otlp") or {}
    if not isinstance(raw, dict):
        raise protocol.error("otlp", "expected a mapping of the otlp exporter's settings")
    template = dict(raw)
    template["endpoint"] = _PLACEHOLDER_ENDPOINT
    return parse_grpc_settings(Section(template, protocol.key_of("otlp")))


def _resolver(section: Section) -> StaticSettings | DnsSettings:
    section.allow(*_RESOLVERS)
    given = [name for name in _RESOLVERS if section.has(name)]
    if not given:
        raise section.error(None, "no resolvers specified for the exporter; add static "
                                  "(hostnames) or dns (hostname)")
    for name in given:
        if name in _NOT_SUPPORTED_RESOLVERS:
            raise section.error(name, "is not supported by spanhouse: "
                                      + _NOT_SUPPORTED_RESOLVERS[name])
    if len(given) > 1:
        raise section.error(given[1], "only one resolver should be specified; keep "
                                      f"{given[0]} or {given[1]}")
    if given[0] == "static":
        return _static(section.section("static"))
    return _dns(section.section("dns"))


def _static(section: Section) -> StaticSettings:
    section.allow("hostnames")
    hostnames = section.strings("hostnames", [])
    if not hostnames:
        raise section.error("hostnames", "no endpoints specified for the static resolver, "
                                         "e.g. hostnames: [backend-1:4317, backend-2:4317]")
    for i, hostname in enumerate(hostnames):
        if not hostname.strip() or hostname != hostname.strip():
            raise ConfigError("expected host or host:port without spaces",
                              f"{section.key_of('hostnames')}[{i}]")
    return StaticSettings(tuple(hostnames))


def _dns(section: Section) -> DnsSettings:
    section.allow("hostname", "port", "interval", "timeout")
    hostname = section.string("hostname", "")
    if not hostname:
        raise section.error("hostname", "no hostname specified to resolve the backends")
    port = section.raw("port", "")
    if isinstance(port, int) and not isinstance(port, bool):
        port = str(port)
    if not isinstance(port, str) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise section.error("port", f"{port!r} is not a port number, e.g. 4317")
    # upstream treats 0 as "not set": the defaults
    interval = section.duration("interval", 5.0) or 5.0
    timeout = section.duration("timeout", 1.0) or 1.0
    return DnsSettings(hostname, port, interval, timeout)
