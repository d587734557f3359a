"""``spanhouse compare``: what is different about slow or failing traces (a thin client of
``GET /api/v1/compare``, with the conventions of ``spanhouse.cli_query``: a rich table by
default, the API's ``data`` as JSON with ``--json``, exit 2 for bad input, 1 for failures)."""

from __future__ import annotations

import click

from spanhouse.analysis.compare import DEFAULT_LIMIT, MAX_LIMIT, parse_where
from spanhouse.cli_query import (_checked, _common, _console, _opt, _print_json, _span_of,
                                 _window, _window_params, fetch)

VALUE_WIDTH = 80


def register(group: click.Group) -> None:
    """Add ``compare`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(compare)


@click.command()
@click.option("--where", "where", required=True, metavar="SELECTION",
              help="The traces to explain: duration>p95 (also p50, p75, p90, p99), "
                   "duration>1.5s (a Go duration) or error.")
@_window
@click.option("--service", metavar="NAME", help="Only traces whose root span is of this service.")
@click.option("--operation", metavar="NAME", help="Only traces whose root span has this name.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), metavar="N",
              help=f"At most N attribute values.  [default: {DEFAULT_LIMIT}]")
@_common
def compare(where, since, start, end, service, operation, limit, server, as_json) -> None:
    """What is different about some traces: the attribute values most over-represented in
    the selected traces against the window's other traces.

    Counts are sampling-aware (a trace kept at 5% counts as 20). Span and resource
    attributes are compared, plus span.name (service: name) and service.version
    (service@version); id-like keys (a value per trace) are skipped.

    Example: spanhouse compare --where 'duration>p95' --since 1h
    """
    selection = _checked(parse_where, where)
    params = [("where", selection.text)] + _window_params(since, start, end)
    _opt(params, "service", service)
    _opt(params, "operation", operation)
    _opt(params, "limit", limit)
    answer = fetch(server, "/api/v1/compare", params)
    if as_json:
        return _print_json(answer["data"])
    print_compare(answer["data"], answer["query"])


def _traces(group: dict) -> str:
    n, est = group["traces"], group["estimated_traces"]
    text = f"{n:,} trace{'s' * (n != 1)}"
    if abs(est - n) > 1e-9:
        text += f" (est. {est:,.0f})"
    return text


def _percent(share: float) -> str:
    return f"{share:.1%}"


def _lift(lift) -> str:
    return "∞" if lift is None else f"{lift:.1f}×"


def print_compare(data: dict, query: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    sel, base = data["selection"], data["baseline"]
    narrowed = "".join(f", {name} {query[name]}" for name in ("service", "operation")
                       if query.get(name))
    header = (f"Compared {sel['description']}: {_traces(sel)}, with the other "
              f"{_traces(base)}, {_span_of(query)}{narrowed}.")
    console.print(header, markup=False, highlight=False)
    if data.get("sampled"):
        console.print(f"[dim]Attributes counted over a deterministic sample of "
                      f"{sel['considered_traces']:,} + {base['considered_traces']:,} traces "
                      f"(at most {data['max_traces_per_group']:,} per group).[/dim]")
    rows = data["attributes"]
    if not rows:
        if not sel["traces"]:
            console.print("No traces match the selection in this window.", markup=False)
        elif not base["traces"]:
            console.print("Every trace of the window matches the selection: nothing to compare "
                          "with.", markup=False)
        else:
            console.print("No attribute value is over-represented in the selection (found in at "
                          f"least {data['min_support']} selected traces).", markup=False)
        return
    table = Table(title_justify="left")
    table.add_column("ATTRIBUTE", overflow="fold")
    table.add_column("VALUE", overflow="fold", max_width=VALUE_WIDTH)
    table.add_column("% OF SELECTION", justify="right", no_wrap=True)
    table.add_column("% OF BASELINE", justify="right", no_wrap=True)
    table.add_column("LIFT", justify="right", no_wrap=True)
    for row in rows:
        value = row["value"]
        if len(value) > VALUE_WIDTH * 3:
            value = value[: VALUE_WIDTH * 3 - 1] + "…"
        table.add_row(escape(row["key"]), escape(value), _percent(row["share_selection"]),
                      _percent(row["share_baseline"]), _lift(row["lift"]))
    console.print(table)
