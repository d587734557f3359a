"""Server TLS from a listener's ``tls`` settings (``spanhouse.config.listener.ServerTls``).

- HTTP listeners (uvicorn): ``uvicorn_ssl(tls)`` gives the uvicorn ``Config`` keyword
  arguments, with an ``ssl.SSLContext`` of our own (``min_version``/``max_version``, a client
  certificate required when ``client_ca_file`` is set). With ``reload_interval``,
  ``reload_forever`` reloads the certificate, key and client CA into that same context when
  the files change: new connections get them, open ones keep theirs.
- gRPC: ``grpc_credentials(tls)``: ``grpc.ssl_server_credentials`` (``require_client_auth``
  with ``client_ca_file``), or with ``reload_interval`` ``grpc.dynamic_ssl_server_credentials``
  whose fetcher, called at handshakes, rereads changed files at most once per interval.

A certificate or key that cannot be loaded is a ``ConfigError`` with the ``tls`` key (the
server locates it in the config file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time

import grpc

from spanhouse.config.listener import ServerTls
from spanhouse.errors import ConfigError

log = logging.getLogger(__name__)
VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def _stamp(tls: ServerTls) -> tuple:
    stamps = []
    for path in (tls.cert_file, tls.key_file, tls.client_ca_file):
        try:
            st = os.stat(path) if path else None
            stamps.append((st.st_mtime_ns, st.st_size) if st else None)
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def _load(context: ssl.SSLContext, tls: ServerTls) -> None:
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
        if tls.client_ca_file:
            context.load_verify_locations(cafile=tls.client_ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot load {tls.cert_file} / {tls.key_file}"
                          f"{' / ' + tls.client_ca_file if tls.client_ca_file else ''}: "
                          f"{getattr(exc, 'strerror', None) or exc}", tls.key) from None


def ssl_context(tls: ServerTls) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = VERSIONS[tls.min_version]
    if tls.max_version:
        context.maximum_version = VERSIONS[tls.max_version]
    if tls.client_ca_file:
        context.verify_mode = ssl.CERT_REQUIRED
    _load(context, tls)
    return context


def uvicorn_ssl(tls: ServerTls, context: ssl.SSLContext) -> dict:
    """uvicorn ``Config`` keyword arguments that serve ``context``."""
    return {"ssl_certfile": tls.cert_file, "ssl_keyfile": tls.key_file,
            "ssl_ca_certs": tls.client_ca_file or None,
            "ssl_cert_reqs": int(context.verify_mode),
            "ssl_context_factory": lambda config, default: context}


async def reload_forever(context: ssl.SSLContext, tls: ServerTls, name: str) -> None:
    """Reload changed certificate files into ``context`` every ``reload_interval``."""
    stamp = _stamp(tls)
    while True:
        await asyncio.sleep(tls.reload_interval_s)
        now = _stamp(tls)
        if now == stamp:
            continue
        try:
            _load(context, tls)
        except ConfigError as exc:
            log.warning("%s: TLS files changed but cannot be loaded (%s); keeping the previous "
                        "certificate", name, exc)
            continue
        stamp = now
        log.info("%s: TLS certificate reloaded", name)


def _read(tls: ServerTls, name: str) -> bytes:
    path = getattr(tls, name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", f"{tls.key}.{name}") from None


def _grpc_config(tls: ServerTls):
    pair = [(_read(tls, "key_file"), _read(tls, "cert_file"))]
    ca = _read(tls, "client_ca_file") if tls.client_ca_file else None
    return pair, ca


def grpc_credentials(tls: ServerTls, name: str = "grpc") -> grpc.ServerCredentials:
    pair, ca = _grpc_config(tls)
    if not tls.reload_interval_s:
        return grpc.ssl_server_credentials(pair, root_certificates=ca,
                                           require_client_auth=ca is not None)
    state = {"stamp": _stamp(tls), "checked": time.monotonic()}

    def fetch():
        # Called by gRPC at handshakes: None keeps the current certificate.
        now = time.monotonic()
        if now - state["checked"] < tls.reload_interval_s:
            return None
        state["checked"] = now
        stamp = _stamp(tls)
        if stamp == state["stamp"]:
            return None
        try:
            new_pair, new_ca = _grpc_config(tls)
        except ConfigError as exc:
            log.warning("%s: TLS files changed but cannot be read (%s)", name, exc)
            return None
        state["stamp"] = stamp
        log.info("%s: TLS certificate reloaded", name)
        return grpc.ssl_server_certificate_configuration(new_pair, root_certificates=new_ca)

    initial = grpc.ssl_server_certificate_configuration(pair, root_certificates=ca)
    return grpc.dynamic_ssl_server_credentials(initial, fetch,
                                               require_client_authentication=ca is not None)
