"""``spanhouse compare``: what is different about slow or failing traces (a thin client of
``GET /api/v1/compare``, with the conventions of the query commands: a rich table by default,
the API's ``data`` as JSON with ``--json``, exit 2 for bad input, 1 for failures)."""

from __future__ import annotations

import click

from spanhouse.analysis.compare import DEFAULT_LIMIT, MAX_LIMIT, parse_where
from spanhouse.cli.client import fetch
from spanhouse.cli.command import Command
from spanhouse.cli.options import add_param, api_options, window_options, window_params
from spanhouse.cli.render import ESTIMATE_NOTE, console, estimate, print_json, span_of

VALUE_WIDTH = 80


def register(group: click.Group) -> None:
    """Add ``compare`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(compare)


@click.command(cls=Command)
@click.option("--where", "where", required=True, metavar="SELECTION",
              help="The traces to explain: duration>p95 (also p50, p75, p90, p99), "
                   "duration>1.5s (a Go duration) or error.")
@window_options
@click.option("--service", metavar="NAME", help="Only traces whose root span is of this service.")
@click.option("--operation", metavar="NAME", help="Only traces whose root span has this name.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), metavar="N",
              help=f"At most N attribute values.  [default: {DEFAULT_LIMIT}]")
@api_options
def compare(where, since, start, end, service, operation, limit, server, as_json) -> None:
    """What is different about some traces: the attribute values most over-represented in
    the selected traces against the window's other traces.

    Counts and shares are estimates (a trace kept at 5% counts as 20), the stored traces
    shown second. Span and resource
    attributes are compared, plus span.name (service: name) and service.version
    (service@version); id-like keys (a value per trace) are skipped.

    Example: spanhouse compare --where 'duration>p95' --since 1h
    """
    selection = parse_where(where)
    params = [("where", selection.text)] + window_params(since, start, end)
    add_param(params, "service", service)
    add_param(params, "operation", operation)
    add_param(params, "limit", limit)
    answer = fetch(server, "/api/v1/compare", params)
    if as_json:
        return print_json(answer["data"])
    print_compare(answer["data"], answer["query"])


def _traces(group: dict) -> str:
    """A group's traces: the estimate first (weighted by AdjustedCount), the stored second."""
    n, est = group["traces"], group["estimated_traces"]
    return f"est. {estimate(est)} trace{'s' * (est != 1)} ({n:,} stored)"


def _percent(share: float) -> str:
    return f"{share:.1%}"


def _lift(lift) -> str:
    return "∞" if lift is None else f"{lift:.1f}×"


def print_compare(data: dict, query: dict) -> None:
    """The human output of ``spanhouse compare``."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    sel, base = data["selection"], data["baseline"]
    narrowed = "".join(f", {name} {query[name]}" for name in ("service", "operation")
                       if query.get(name))
    header = (f"Compared {sel['description']}: {_traces(sel)}, with the other "
              f"{_traces(base)}, {span_of(query)}{narrowed}.")
    out.print(header, markup=False, highlight=False)
    if data.get("sampled"):
        out.print(f"[dim]Attributes counted over a deterministic sample of "
                  f"{sel['considered_traces']:,} + {base['considered_traces']:,} traces "
                  f"(at most {data['max_traces_per_group']:,} per group).[/dim]")
    rows = data["attributes"]
    if not rows:
        if not sel["traces"]:
            out.print("No traces match the selection in this window.", markup=False)
        elif not base["traces"]:
            out.print("Every trace of the window matches the selection: nothing to compare "
                      "with.", markup=False)
        else:
            out.print("No attribute value is over-represented in the selection (found in at "
                      f"least {data['min_support']} selected traces).", markup=False)
        return
    table = Table(title_justify="left")
    table.add_column("ATTRIBUTE", overflow="fold")
    table.add_column("VALUE", overflow="fold", max_width=VALUE_WIDTH)
    table.add_column("EST. % OF SELECTION", justify="right", no_wrap=True)
    table.add_column("EST. % OF BASELINE", justify="right", no_wrap=True)
    table.add_column("LIFT", justify="right", no_wrap=True)
    table.add_column("STORED TRACES: SEL./BASE", justify="right", no_wrap=True)
    for row in rows:
        value = row["value"]
        if len(value) > VALUE_WIDTH * 3:
            value = value[: VALUE_WIDTH * 3 - 1] + "…"
        keys = row.get("merged_keys") or [row["key"]]
        table.add_row(escape(" / ".join(keys)), escape(value), _percent(row["share_selection"]),
                      _percent(row["share_baseline"]), _lift(row["lift"]),
                      f"{row.get('traces_selection', 0):,}/{row.get('traces_baseline', 0):,}",
                      style="dim" if row.get("signal") == "low" else None)
    out.print(table)
    if any(row.get("signal") == "low" for row in rows):
        out.print("[dim]Dimmed, last: identifiers (instance ids, hosts, ids), which tell which "
                  "one rather than why.[/dim]")
    out.print(f"[dim]{ESTIMATE_NOTE}[/dim]")
