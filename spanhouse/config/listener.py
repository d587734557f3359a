"""The security settings of a listener, with the collector's keys: ``tls``
(configtls.ServerConfig), ``auth`` (configauth: ``authenticator: <extension id>``) and, for
HTTP, ``cors`` (confighttp.CORSConfig).

Parsing only: what the settings say, checked (versions known, wildcards valid). The files
are read when ``serve`` starts, as the collector's ``validate`` leaves them to ``Start``
(``spanhouse.extensions.tls``; an unreadable one is a ``ConfigError`` located at its key).
Whatever cannot be honoured is a ``ConfigError`` naming the key, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
_TLS_FIELDS = ("cert_file", "key_file", "client_ca_file", "ca_file", "min_version",
               "max_version", "reload_interval", "cert_pem", "key_pem", "ca_pem",
               "cipher_suites", "include_system_ca_certs_pool", "curve_preferences",
               "reload_client_ca_file")
_TLS_REFUSED = {
    "cert_pem": "put the certificate in a file: cert_file",
    "key_pem": "put the key in a file: key_file",
    "ca_pem": "put the CA in a file: client_ca_file",
    "ca_file": "a server verifies client certificates with client_ca_file",
    "cipher_suites": "the TLS library's defaults are used",
    "curve_preferences": "the TLS library's defaults are used",
    "include_system_ca_certs_pool": "client certificates are verified with client_ca_file only",
    "reload_client_ca_file": "reload_interval reloads the certificate, key and client CA",
}


@dataclass(frozen=True)
class ServerTls:
    cert_file: str
    key_file: str
    client_ca_file: str = ""          # set: mutual TLS, a client certificate is required
    min_version: str = "1.2"
    max_version: str = ""
    reload_interval_s: float = 0.0    # 0: read once
    key: str = "tls"                  # where it is in the config, for errors at start-up

    @property
    def describe(self) -> str:
        return "mTLS" if self.client_ca_file else "TLS"


@dataclass(frozen=True)
class Cors:
    allowed_origins: tuple[str, ...] = ()
    allowed_headers: tuple[str, ...] = ()
    max_age_s: int = 0
    _patterns: tuple[re.Pattern, ...] = field(default=(), compare=False, repr=False)

    def allows(self, origin: str) -> bool:
        return any(p.fullmatch(origin) for p in self._patterns)


@dataclass(frozen=True)
class ListenerSecurity:
    """Who may talk to one listener: its TLS, its authenticator (an extension id), CORS."""
    tls: ServerTls | None = None
    authenticator: str | None = None
    authenticator_key: str | None = None   # the config key that names it, for errors
    cors: Cors | None = None

    @property
    def describe(self) -> str:
        parts = [self.tls.describe] if self.tls else []
        if self.authenticator:
            parts.append(f"auth {self.authenticator}")
        return ", ".join(parts)


def parse_security(section: Section, http: bool) -> ListenerSecurity:
    """``tls``, ``auth`` and (``http``) ``cors`` of a listener's section (fields already
    allowed by the caller)."""
    tls = parse_server_tls(section.section("tls")) if section.raw("tls") is not None else None
    authenticator = key = None
    if section.raw("auth") is not None:
        auth = section.section("auth").allow("authenticator", "request_params")
        if auth.raw("request_params") is not None:
            raise auth.error("request_params", "is not supported: Spanhouse authenticates "
                             "with the request's headers only; remove it")
        authenticator = auth.string("authenticator")
        key = auth.key_of("authenticator")
    cors = None
    if http and section.raw("cors") is not None:
        cors = parse_cors(section.section("cors"))
    return ListenerSecurity(tls, authenticator, key, cors)


def parse_server_tls(section: Section) -> ServerTls:
    section.allow(*_TLS_FIELDS)
    for name, why in _TLS_REFUSED.items():
        if section.raw(name) is not None:
            raise section.error(name, f"is not supported by spanhouse: {why}")
    cert, key = section.string("cert_file", ""), section.string("key_file", "")
    if not cert or not key:
        raise section.error("cert_file" if not cert else "key_file",
                            "a TLS listener needs both cert_file and key_file")
    client_ca = section.string("client_ca_file", "")
    min_version = _version(section, "min_version", "1.2")
    max_version = _version(section, "max_version", "")
    if max_version and TLS_VERSIONS.index(max_version) < TLS_VERSIONS.index(min_version):
        raise section.error("max_version", f"{max_version} is below min_version {min_version}")
    reload_s = section.duration("reload_interval", 0.0) if section.raw("reload_interval") not in (
        None, 0, "0") else 0.0
    return ServerTls(cert, key, client_ca, min_version, max_version, reload_s, section.key)


def _version(section: Section, name: str, default: str) -> str:
    value = section.raw(name)
    if value in (None, ""):
        return default
    value = str(value)
    if value not in TLS_VERSIONS:
        raise section.error(name, f"{value!r} is not one of {', '.join(TLS_VERSIONS)}")
    return value


def parse_cors(section: Section) -> Cors:
    section.allow("allowed_origins", "allowed_headers", "max_age")
    origins = tuple(section.strings("allowed_origins", []))
    patterns = []
    for i, origin in enumerate(origins):
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin, re.I):
            raise ConfigError(f"{origin!r} is not an origin such as https://app.example.com "
                              "or https://*.example.com", f"{section.key_of('allowed_origins')}[{i}]")
        # As the collector (rs/cors): "*" is any origin, and "*" inside one any characters.
        patterns.append(re.compile(".*" if origin == "*" else
                                   ".*".join(re.escape(p) for p in origin.split("*")), re.I))
    headers = tuple(h.lower() for h in section.strings("allowed_headers", []))
    max_age = section.integer("max_age", 0, minimum=0)
    return Cors(origins, headers, max_age, tuple(patterns))
