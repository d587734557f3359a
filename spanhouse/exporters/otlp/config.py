"""The settings of the ``otlp`` and ``otlphttp`` exporters: the collector's keys, parsed and
checked.

Each exporter's section becomes one frozen settings object (``GrpcSettings``,
``HttpSettings``) holding everything its transport and its sending queue need, so a bad key is
reported by ``create`` (and ``config check``) before any socket is opened. Keys the collector
has but Spanhouse cannot honour are refused with the reason and the alternative, never silently
ignored; pure Go transport tuning without an equivalent here is accepted and unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.exporters.sending_queue import RetryPolicy

# Compression names the collector knows (configcompression) but Spanhouse does not send.
_UPSTREAM_ONLY_COMPRESSION = ("zlib", "deflate", "snappy", "zstd", "lz4", "x-snappy-framed")

# ``retry_on_failure`` (configretry.BackOffConfig): the shared retry policy.
RetrySettings = RetryPolicy


@dataclass(frozen=True)
class QueueSettings:
    """``sending_queue`` (exporterhelper queue config); defaults as upstream."""

    enabled: bool = True
    num_consumers: int = 10
    queue_size: int = 1000
    sizer: str = "requests"  # or "items" (spans)


@dataclass(frozen=True)
class TlsSettings:
    """The part of ``tls`` (configtls.ClientConfig) Spanhouse implements."""

    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name_override: str = ""


@dataclass(frozen=True)
class GrpcSettings:
    """Everything the ``otlp`` exporter was configured with."""

    target: str  # host:port, as grpcio takes it
    use_tls: bool
    tls: TlsSettings = TlsSettings(insecure=True)
    headers: dict[str, str] = field(default_factory=dict)
    compression: str = "gzip"
    timeout_s: float = 5.0
    queue: QueueSettings = QueueSettings()
    retry: RetrySettings = RetrySettings()
    wait_for_ready: bool = False
    options: tuple[tuple[str, Any], ...] = ()  # grpcio channel options


@dataclass(frozen=True)
class HttpSettings:
    """Everything the ``otlphttp`` exporter was configured with."""

    url: str  # the traces URL, ``…/v1/traces`` unless ``traces_endpoint`` says otherwise
    tls: TlsSettings = TlsSettings()
    headers: dict[str, str] = field(default_factory=dict)
    compression: str = "gzip"
    timeout_s: float = 30.0
    queue: QueueSettings = QueueSettings()
    retry: RetrySettings = RetrySettings()
    proxy_url: str | None = None
    limits: httpx.Limits | None = None  # None: as many connections as senders (at least 10)


GRPC_FIELDS = ("endpoint", "compression", "tls", "headers", "timeout", "sending_queue",
               "retry_on_failure", "wait_for_ready", "balancer_name", "authority", "keepalive",
               "read_buffer_size", "write_buffer_size", "auth")
HTTP_FIELDS = ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint",
               "profiles_endpoint", "encoding", "compression", "tls", "headers", "timeout",
               "sending_queue", "retry_on_failure", "proxy_url", "read_buffer_size",
               "write_buffer_size", "max_idle_conns", "max_idle_conns_per_host",
               "max_conns_per_host", "idle_conn_timeout", "disable_keep_alives", "auth")
_QUEUE_FIELDS = ("enabled", "num_consumers", "queue_size", "sizer", "block_on_overflow",
                 "wait_for_result", "storage", "batch")
_RETRY_FIELDS = ("enabled", "initial_interval", "randomization_factor", "multiplier",
                 "max_interval", "max_elapsed_time")
_TLS_FIELDS = ("insecure", "insecure_skip_verify", "ca_file", "cert_file", "key_file",
               "server_name_override", "ca_pem", "cert_pem", "key_pem", "min_version",
               "max_version", "cipher_suites", "include_system_ca_certs_pool", "reload_interval",
               "curve_preferences")
_TLS_UNSUPPORTED = ("ca_pem", "cert_pem", "key_pem", "min_version", "max_version",
                    "cipher_suites", "include_system_ca_certs_pool", "reload_interval",
                    "curve_preferences")


# ---------------------------------------------------------------------------------- exporters
def parse_grpc_settings(section: Section) -> GrpcSettings:
    """The ``otlp`` exporter's section."""
    section.allow(*GRPC_FIELDS)
    _refuse_auth(section)
    target, https = _grpc_target(section)
    tls = parse_tls(section.section("tls"), grpc_client=True)
    options: list[tuple[str, Any]] = []
    if section.has("balancer_name"):
        options.append(("grpc.lb_policy_name", section.string(
            "balancer_name", choices=("pick_first", "round_robin"))))
    if section.has("authority"):
        options.append(("grpc.default_authority", section.string("authority")))
    if tls.server_name_override:
        options.append(("grpc.ssl_target_name_override", tls.server_name_override))
    keepalive = section.section("keepalive").allow("time", "timeout", "permit_without_stream")
    if section.raw("keepalive") is not None:
        if keepalive.has("time"):
            options.append(("grpc.keepalive_time_ms",
                            int(_duration(keepalive, "time", 0) * 1000)))
        if keepalive.has("timeout"):
            options.append(("grpc.keepalive_timeout_ms",
                            int(_duration(keepalive, "timeout", 0) * 1000)))
        options.append(("grpc.keepalive_permit_without_calls",
                        int(keepalive.boolean("permit_without_stream", False))))
    # read/write_buffer_size: Go transport tuning without a grpcio equivalent; accepted.
    section.integer("read_buffer_size", 0, minimum=0)
    section.integer("write_buffer_size", 0, minimum=0)
    return GrpcSettings(
        target=target,
        use_tls=https or not tls.insecure,
        tls=tls,
        headers=parse_headers(section),
        compression=parse_compression(section),
        timeout_s=_duration(section, "timeout", 5.0),
        queue=parse_queue(section.section("sending_queue")),
        retry=parse_retry(section.section("retry_on_failure")),
        wait_for_ready=section.boolean("wait_for_ready", False),
        options=tuple(options),
    )


def parse_http_settings(section: Section) -> HttpSettings:
    """The ``otlphttp`` exporter's section."""
    section.allow(*HTTP_FIELDS)
    _refuse_auth(section)
    encoding = section.string("encoding", "proto", choices=("proto", "json"))
    if encoding == "json":
        raise _unsupported(section, "encoding", "spanhouse sends protobuf; use proto")
    url = traces_url(section)
    for other in ("metrics_endpoint", "logs_endpoint", "profiles_endpoint"):
        section.string(other, "")  # spanhouse forwards traces only; accepted, unused
    proxy_url = section.string("proxy_url", "") or None
    if proxy_url:
        _check_url(section, "proxy_url", proxy_url)
    section.integer("read_buffer_size", 0, minimum=0)
    section.integer("write_buffer_size", 0, minimum=0)
    queue = parse_queue(section.section("sending_queue"))
    max_idle = section.integer("max_idle_conns", 0, minimum=0) or None
    section.integer("max_idle_conns_per_host", 0, minimum=0)
    max_conns = section.integer("max_conns_per_host", 0, minimum=0) or None
    idle = _duration(section, "idle_conn_timeout", 90.0)
    if section.boolean("disable_keep_alives", False):
        max_idle, idle = 0, 0.0
    limits = httpx.Limits(max_connections=max_conns or max(10, queue.num_consumers),
                          max_keepalive_connections=max_idle,
                          keepalive_expiry=idle or None)
    return HttpSettings(
        url=url,
        tls=parse_tls(section.section("tls"), grpc_client=False),
        headers=parse_headers(section),
        compression=parse_compression(section),
        timeout_s=_duration(section, "timeout", 30.0),
        queue=queue,
        retry=parse_retry(section.section("retry_on_failure")),
        proxy_url=proxy_url,
        limits=limits,
    )


def _refuse_auth(section: Section) -> None:
    if section.has("auth"):
        raise _unsupported(section, "auth", "authenticator extensions are not available; "
                           "put credentials in headers (e.g. authorization: Bearer ...)")


def _grpc_target(section: Section) -> tuple[str, bool]:
    """(target for grpcio, TLS forced by an https:// scheme)."""
    endpoint = section.string("endpoint")
    endpoint = endpoint.strip()
    https = endpoint.startswith("https://")
    for prefix in ("http://", "https://", "dns:///", "dns://"):
        if endpoint.startswith(prefix):
            endpoint = endpoint[len(prefix):]
            break
    if not endpoint:
        raise section.error("endpoint", 'requires a non-empty "endpoint", e.g. backend:4317')
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host:
        raise section.error("endpoint", f"{endpoint!r} has no port; write host:port, e.g. "
                                        "backend:4317")
    if not port.isdigit():
        raise section.error("endpoint", f'invalid port "{port}"')
    return endpoint, https


def traces_url(section: Section) -> str:
    """``traces_endpoint``, or ``endpoint`` + ``/v1/traces`` (as upstream's composeSignalURL)."""
    override = section.string("traces_endpoint", "")
    if override:
        _check_url(section, "traces_endpoint", override)
        return override
    endpoint = section.string("endpoint", "")
    if not endpoint:
        raise section.error("endpoint", "either endpoint or traces_endpoint must be specified, "
                                        "e.g. endpoint: http://backend:4318")
    _check_url(section, "endpoint", endpoint)
    return endpoint + ("v1/traces" if endpoint.endswith("/") else "/v1/traces")


def _check_url(section: Section, name: str, url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except Exception:
        raise section.error(name, f"{url!r} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise section.error(name, f"{url!r} must be an http:// or https:// URL with a host, "
                                  "e.g. http://backend:4318")


# ---------------------------------------------------------------------------------- shared keys
def _duration(section: Section, name: str, default: float) -> float:
    """A Go duration; also a YAML integer 0 (``Section.duration`` takes strings only)."""
    value = section.raw(name)
    if value == 0 and not isinstance(value, bool) or value == "0":
        return 0.0
    return section.duration(name, default, minimum=0)


def _unsupported(section: Section, name: str, why: str) -> ConfigError:
    return ConfigError(f"is not supported by spanhouse: {why}", section.key_of(name))

def parse_retry(section: Section) -> RetrySettings:
    section.allow(*_RETRY_FIELDS)
    d = RetrySettings()
    s = RetrySettings(
        enabled=section.boolean("enabled", d.enabled),
        initial_interval=_duration(section, "initial_interval", d.initial_interval),
        randomization_factor=section.number("randomization_factor", d.randomization_factor,
                                            minimum=0, maximum=1),
        multiplier=section.number("multiplier", d.multiplier, minimum=0),
        max_interval=_duration(section, "max_interval", d.max_interval),
        max_elapsed_time=_duration(section, "max_elapsed_time", d.max_elapsed_time),
    )
    if s.enabled and s.max_elapsed_time > 0:  # as configretry's Validate
        if s.max_elapsed_time < s.initial_interval:
            raise section.error("max_elapsed_time", "must not be less than initial_interval "
                                f"({s.initial_interval:g}s); use 0 to retry forever")
        if s.max_elapsed_time < s.max_interval:
            raise section.error("max_elapsed_time", "must not be less than max_interval "
                                f"({s.max_interval:g}s); use 0 to retry forever")
    return s


def parse_queue(section: Section) -> QueueSettings:
    section.allow(*_QUEUE_FIELDS)
    d = QueueSettings()
    if section.boolean("block_on_overflow", False):
        raise _unsupported(section, "block_on_overflow",
                           "a full queue refuses the batch with a retryable error, so the "
                           "receiver pushes back on the sender; remove it")
    if section.boolean("wait_for_result", False):
        raise _unsupported(section, "wait_for_result",
                           "disable the queue (enabled: false) to send in the caller's thread")
    if section.has("storage"):
        raise _unsupported(section, "storage", "the sending queue is in memory only")
    if section.has("batch"):
        raise _unsupported(section, "batch", "use the batch processor in the pipeline")
    sizer = section.string("sizer", d.sizer, choices=("requests", "items", "bytes"))
    if sizer == "bytes":
        raise _unsupported(section, "sizer", 'the queue counts "requests" or "items"')
    return QueueSettings(
        enabled=section.boolean("enabled", d.enabled),
        num_consumers=section.integer("num_consumers", d.num_consumers, minimum=1),
        queue_size=section.integer("queue_size", d.queue_size, minimum=1),
        sizer=sizer,
    )


def parse_tls(section: Section, grpc_client: bool) -> TlsSettings:
    section.allow(*_TLS_FIELDS)
    for name in _TLS_UNSUPPORTED:
        if section.has(name):
            raise _unsupported(section, name, "use ca_file, cert_file and key_file")
    tls = TlsSettings(
        insecure=section.boolean("insecure", False),
        insecure_skip_verify=section.boolean("insecure_skip_verify", False),
        ca_file=section.string("ca_file", ""),
        cert_file=section.string("cert_file", ""),
        key_file=section.string("key_file", ""),
        server_name_override=section.string("server_name_override", ""),
    )
    if bool(tls.cert_file) != bool(tls.key_file):
        raise section.error("cert_file" if not tls.cert_file else "key_file",
                            "cert_file and key_file must be set together")
    if grpc_client and tls.insecure_skip_verify:
        raise _unsupported(section, "insecure_skip_verify",
                           "the gRPC client always verifies; set ca_file, or insecure: true")
    if not grpc_client and tls.server_name_override:
        raise _unsupported(section, "server_name_override", "only the otlp (gRPC) exporter has it")
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(tls, name)
        if path:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise section.error(name, f"cannot read {path!r}: {exc.strerror}") from None
    return tls


def parse_headers(section: Section, name: str = "headers") -> dict[str, str]:
    value = section.raw(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise section.error(name, "expected a mapping of header names to values")
    headers = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError("expected a string value", f"{section.key_of(name)}.{key}")
        headers[str(key)] = str(item)
    return headers


def parse_compression(section: Section) -> str:
    """``gzip`` (the collector's default) or ``none``."""
    value = section.raw("compression", "gzip")
    if value is None or value == "":
        return "none"
    if isinstance(value, str) and value in _UPSTREAM_ONLY_COMPRESSION:
        raise _unsupported(section, "compression", f"{value!r}; use gzip or none")
    return section.string("compression", "gzip", choices=("gzip", "none"))

