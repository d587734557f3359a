"""Opening the store: embedded chDB or a ClickHouse server, both through ``clickhouse-connect``.

Endpoints:

- ``chdb://PATH``: an embedded chDB store in the directory PATH (absolute, ``chdb:///var/lib/x``,
  or relative to the working directory, ``chdb://./spanhouse-data``); the directory is created.
  chDB allows one data path per process; several clients on that path are fine (one per thread).
- ``http://[user[:password]@]host[:port]`` and ``https://...``: a ClickHouse server's HTTP
  interface (default ports 8123 / 8443, user ``default``, empty password).

After ``open_client`` there is one code path: the same client interface (``command``, ``query``,
``insert_arrow``), one SQL dialect, fully qualified ``database.table`` names everywhere.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.compression import available_compression

from spanhouse.config.redact import redact
from spanhouse.errors import ConfigError, StoreError
from spanhouse.store.schema import quote_identifier

CHDB_SCHEME = "chdb://"
DEFAULT_PORTS = {"http": 8123, "https": 8443}


def chdb_path(endpoint: str) -> str:
    """The absolute data directory of a ``chdb://PATH`` endpoint."""
    path = endpoint[len(CHDB_SCHEME):]
    if not path or path in (":memory:", "memory"):
        raise ConfigError(f"store endpoint {redact(endpoint)!r}: chdb:// needs a data directory, "
                          "e.g. chdb://./spanhouse-data")
    return os.path.abspath(os.path.expanduser(path))


def _client_args(endpoint: str) -> dict:
    """``clickhouse_connect.get_client`` keyword arguments for an endpoint (validated)."""
    if endpoint.startswith(CHDB_SCHEME):
        path = chdb_path(endpoint)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"store endpoint {redact(endpoint)!r}: cannot create {path}: {exc}") from exc
        return {"dsn": f"chdb://{path}"}
    parts = urlsplit(endpoint)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"store endpoint {redact(endpoint)!r}: use chdb://PATH or "
                          "http(s)://[user:password@]host:port")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # a non-numeric or out-of-range port
        raise ConfigError(redact(f"store endpoint {endpoint!r}: {exc}")) from exc
    return {
        "host": parts.hostname,
        "port": port,
        "username": unquote(parts.username) if parts.username else "default",
        "password": unquote(parts.password) if parts.password else "",
        "secure": parts.scheme == "https",
    }


# The collector exporter's ``compress`` values (clickhouse-go's DSN ``compress``): lz4 is the
# default, "true" means lz4, "none"/"false" turn it off. Names as clickhouse-connect spells them.
COMPRESS_OFF = ("none", "false")
COMPRESS_ON = ("", "true")
COMPRESS_METHODS = ("lz4", "zstd", "gzip", "deflate", "br")


def client_compression(value: str) -> bool | str:
    """clickhouse-connect's ``compress`` argument for the exporter's ``compress`` value;
    ``ConfigError`` for a value the exporter does not know or this installation cannot do."""
    value = value.strip().lower()
    if value in COMPRESS_OFF:
        return False
    if value in COMPRESS_ON:
        value = "lz4"
    if value not in COMPRESS_METHODS:
        raise ConfigError(f"{value!r} is not one of {', '.join(COMPRESS_OFF + COMPRESS_METHODS)}")
    if value not in available_compression:  # e.g. br without the brotli package
        raise ConfigError(f"compression {value!r} is not available here (its Python package is "
                          f"not installed); available: {', '.join(available_compression)}")
    return value


def open_client(endpoint: str, database: str = "default", settings: dict | None = None,
                compress: bool | str | None = None):
    """A ``clickhouse-connect`` client for ``endpoint``.

    ``database`` is validated (it is used, backquoted, in fully qualified names) but not made
    the session's default: it may not exist yet when the schema is about to be created.
    ``settings`` (ClickHouse settings, e.g. ``{"max_execution_time": 30}``) hold for every
    query of the client: a ClickHouse server receives them with each HTTP request; embedded
    chDB applies them with ``SET`` on the client's own handle when it opens (clickhouse-connect's
    chDB backend; chDB honours ``max_execution_time``, tests/query/test_limits.py).
    Raises ``ConfigError`` for a malformed endpoint or name, ``StoreError`` when the store
    cannot be opened or reached or refuses a setting. ``compress`` (a server only;
    ``client_compression``) is the HTTP compression of inserts and results; None keeps the
    driver's default (lz4, as the exporter's).
    """
    quote_identifier(database, "database name")
    args = _client_args(endpoint)
    if settings:
        args["settings"] = dict(settings)
    if compress is not None and not endpoint.startswith(CHDB_SCHEME):
        args["compress"] = compress
    try:
        return clickhouse_connect.get_client(**args)
    except Exception as exc:  # the drivers raise many kinds; callers see one typed error
        raise StoreError(redact(f"cannot open the store at {endpoint}: {exc}")) from exc
