"""The ``spanhouse`` command (``main``, pyproject's console script; ``python -m spanhouse.cli``).

Thin: parse, call, print. One module per concern:

- ``command``: the error boundary: a typed error becomes one line on stderr and the exit code
  of ``spanhouse.errors.translate`` (2 for bad input or configuration, 1 at run time);
- ``client``: the HTTP client of the query API, raising typed errors;
- ``options``: the options the client commands share and the query parameters they become;
- ``render`` and ``waterfall``: what the commands print (the demo prints with them too);
- the command groups: ``serve`` (``serve``, ``config check``), ``query`` (``slowest``,
  ``errors``, ``find``, ``search``, ``trace``), ``bottleneck``, ``compare``, ``doctor``,
  ``demo``; each has ``register(group)``.
"""

from __future__ import annotations

import click

from spanhouse.cli import bottleneck, compare, demo, doctor, query, serve, traceql
from spanhouse.cli.command import Group

__all__ = ["main"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spanhouse")
def main() -> None:
    """Spanhouse: a tracing backend. OTLP and Zipkin in, ClickHouse storage, answers out."""


serve.register(main)
query.register(main)
traceql.register(main)
bottleneck.register(main)
doctor.register(main)
compare.register(main)
demo.register(main)
