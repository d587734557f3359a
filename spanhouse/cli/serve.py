"""``spanhouse serve`` (receive, store and serve the query API) and ``spanhouse config check``
(validate an OpenTelemetry Collector config): the server side of the command. Bad settings
are a ``ConfigError`` (exit 2)."""

from __future__ import annotations

import sys

import click

from spanhouse.cli.command import Command, Group
from spanhouse.config.settings import MIB, ServeSettings, settings_from_config


def register(group: click.Group) -> None:
    """Add ``serve`` and ``config`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(serve)
    group.add_command(config)


@click.command(cls=Command)
@click.option("--grpc", metavar="HOST:PORT", help="OTLP/gRPC listener.  [default: localhost:4317]")
@click.option("--http", metavar="HOST:PORT", help="OTLP/HTTP listener.  [default: localhost:4318]")
@click.option("--zipkin", metavar="HOST:PORT", help="Zipkin v2 listener.  [default: localhost:9411]")
@click.option("--ui", metavar="HOST:PORT",
              help="Query API and web UI (config: query.endpoint).  [default: localhost:16686]")
@click.option("--tempo", metavar="HOST:PORT",
              help="Grafana Tempo's HTTP API (TraceQL), behind the query port's auth and TLS; "
                   "the default port is skipped with a warning when taken.  "
                   "[default: localhost:3200]")
@click.option("--data", metavar="DIR", help="Data directory of the embedded store.  [default: ./spanhouse-data]")
@click.option("--config", "config_file", metavar="FILE", help="OpenTelemetry Collector YAML config.")
@click.option("--max-request-bytes", type=click.IntRange(min=1024), metavar="N",
              help=f"Largest accepted request body, after decompression.  [default: {16 * MIB}]")
@click.option("--queue-spans", type=click.IntRange(min=1), metavar="N",
              help="Capacity of the write queue in spans; when full, senders are told to retry.  "
                   "[default: 200000]")
@click.option("--wal-max-bytes", type=click.IntRange(min=MIB), metavar="N",
              help="Size limit of the write-ahead log under --data; when full, senders are told "
                   f"to retry.  [default: {512 * MIB}]")
@click.option("--queue-bytes", type=click.IntRange(min=MIB), metavar="N",
              help="Memory for decoded spans waiting between the log and the store (more waits "
                   f"on disk only).  [default: {256 * MIB}]")
@click.option("--wal-sync", type=click.Choice(["fsync", "none"]),
              help="fsync the log before acknowledging (survives power loss), or leave it to the "
                   "OS (survives a crash or kill -9 of the process).  [default: fsync]")
def serve(grpc, http, zipkin, ui, tempo, data, config_file, max_request_bytes, queue_spans,
          wal_max_bytes, queue_bytes, wal_sync) -> None:
    """Receive spans (OTLP gRPC/HTTP, Zipkin), store them, and serve the query API.

    A flag overrides the config file, which overrides the default. Every listener binds
    localhost unless told otherwise: --grpc 0.0.0.0:4317 opens it to other hosts (protect
    it first: auth and tls in the config, docs/security.md). Use port 0 to let the system
    pick a free port; the bound addresses are printed, one line per listener.
    """
    from spanhouse.server import serve as run_server

    settings = settings_from_config(config_file) if config_file else ServeSettings()
    settings = settings.with_overrides(
        grpc=grpc, http=http, zipkin=zipkin, ui=ui, data=data,
        max_request_bytes=max_request_bytes, max_queue_spans=queue_spans,
        wal_max_bytes=wal_max_bytes, queue_bytes=queue_bytes,
        wal_sync=None if wal_sync is None else wal_sync == "fsync")
    sys.exit(run_server(settings, tempo=tempo))


@click.group(cls=Group)
def config() -> None:
    """Work with OpenTelemetry Collector config files."""


@config.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def config_check(file) -> None:
    """Validate FILE and print the effective traces pipeline."""
    from spanhouse.config.check import check_config

    click.echo(check_config(file))
