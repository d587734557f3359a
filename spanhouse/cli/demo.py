"""``spanhouse demo``: the seed's shop (API gateway, auth, products with a SQLite DB and a
cache, orders, payments, an email worker behind a queue), instrumented as the seed shows,
traced into a ``spanhouse serve`` of its own, with the answers printed and the UI up.

The shop needs the optional ``demo`` extra (Flask, SQLAlchemy, requests, the OpenTelemetry SDK
and instrumentations); without it the command says so in one line instead of failing in the
shop's processes. The demo itself is imported only when the command runs.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

import click

from spanhouse.cli.command import Command, fail
from spanhouse.cli.render import console

DEMO_EXTRA_MISSING = "spanhouse demo needs the demo extra: pip install 'spanhouse[demo]'"
# What the shop's processes import from pyproject.toml's ``demo`` extra.
DEMO_EXTRA_MODULES = ("flask", "sqlalchemy", "requests", "opentelemetry.sdk",
                      "opentelemetry.exporter.otlp.proto.grpc",
                      "opentelemetry.instrumentation.flask",
                      "opentelemetry.instrumentation.requests",
                      "opentelemetry.instrumentation.sqlalchemy")


def register(group: click.Group) -> None:
    """Add ``demo`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(demo)


def missing_demo_module() -> str | None:
    """The first module of the demo extra that is not installed, or None."""
    for name in DEMO_EXTRA_MODULES:
        try:
            if find_spec(name) is None:
                return name
        except ModuleNotFoundError:  # its parent package is missing too
            return name
    return None


@click.command(cls=Command)
@click.option("--duration", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Run this long in all, then stop and exit 0.  [default: until Ctrl-C]")
@click.option("--break-context/--no-break-context", default=True, show_default=True,
              help="api-gateway drops the trace context on its calls to auth-service.")
@click.option("--break-queue/--no-break-queue", default=True, show_default=True,
              help="order-service queues confirmations without trace headers.")
@click.option("--data", metavar="DIR",
              help="Keep the store here.  [default: a temporary directory, removed at the end]")
@click.option("--ui", metavar="HOST:PORT", default="127.0.0.1:16686", show_default=True,
              help="Query API and web UI of the demo's server (port 0: a free one; a local "
                   "Jaeger often holds 16686: give another, e.g. 127.0.0.1:16687).")
def demo(duration, break_context, break_queue, data, ui) -> None:
    """Run the seed's shop, traced, and print the answers: the slowest traces, errors by
    service, one user's request found by user.id at a time, the bottleneck of the slowest
    product page, and the trace doctor's findings. The UI's address is printed as soon as its
    server is up. Traffic goes on until Ctrl-C (or for --duration seconds); every process the
    demo started is stopped with it.
    """
    missing = missing_demo_module()
    if missing is not None:
        fail(ModuleNotFoundError(f"No module named {missing!r}", name=missing), DEMO_EXTRA_MISSING)
    from spanhouse.demo.run import DemoError, DemoOptions, run_demo

    options = DemoOptions(duration_s=duration, break_context=break_context,
                          break_queue=break_queue, data=data, ui=ui)
    try:
        sys.exit(run_demo(options, console()))
    except DemoError as exc:
        fail(exc, f"spanhouse: demo: {exc}")
