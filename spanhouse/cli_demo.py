"""``spanhouse demo``: the seed's shop (API gateway, auth, products with a SQLite DB and a
cache, orders, payments, an email worker behind a queue), instrumented as the seed shows,
traced into a ``spanhouse serve`` of its own, with the answers printed and the UI up."""

from __future__ import annotations

import sys

import click

from spanhouse.cli_query import _console


def register(group: click.Group) -> None:
    """Add ``demo`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(demo)


@click.command()
@click.option("--duration", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Run this long in all, then stop and exit 0.  [default: until Ctrl-C]")
@click.option("--break-context/--no-break-context", default=True, show_default=True,
              help="api-gateway drops the trace context on its calls to auth-service.")
@click.option("--break-queue/--no-break-queue", default=True, show_default=True,
              help="order-service queues confirmations without trace headers.")
@click.option("--data", metavar="DIR",
              help="Keep the store here.  [default: a temporary directory, removed at the end]")
@click.option("--ui", metavar="HOST:PORT", default="127.0.0.1:16686", show_default=True,
              help="Query API and web UI of the demo's server (port 0: a free one).")
def demo(duration, break_context, break_queue, data, ui) -> None:
    """Run the seed's shop, traced, and print the answers: the slowest traces, errors by
    service, one user's request found by user.id at a time, the bottleneck of the slowest
    product page, and the trace doctor's findings. Traffic goes on until Ctrl-C (or for
    --duration seconds); every process the demo started is stopped with it.
    """
    from spanhouse.demo.run import DemoError, DemoOptions, run_demo

    options = DemoOptions(duration_s=duration, break_context=break_context,
                          break_queue=break_queue, data=data, ui=ui)
    try:
        sys.exit(run_demo(options, _console()))
    except DemoError as exc:
        click.echo(f"spanhouse: demo: {exc}", err=True)
        sys.exit(1)
