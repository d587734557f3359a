"""``spanhouse bottleneck``: where a request's time went (a thin client of
``/api/v1/bottleneck``).

- ``spanhouse bottleneck TRACE_ID``: the request's path hop by hop with each hop's time on
  the critical path, the request drawn as the seed draws it (each service once, each query on
  its own, a caret under the bottleneck; the demo prints the same), then the bottleneck::

      api-gateway GET /products 5 ms → auth-service 12 ms → product-service 45 ms → SELECT products (sqlite) 120 ms

      User Request → api-gateway → auth-service → product-service → SELECT products (sqlite) → Response
                         5 ms          12 ms          45 ms                120 ms
                                                                              ^
                                                                   This is your bottleneck

      bottleneck: product-service → SELECT products (sqlite) 120 ms, 65% of the request

- ``spanhouse bottleneck --endpoint "api-gateway GET /checkout" [--since 1h]``: the window's
  estimated requests and weighted median / p95 / p99 duration, then the stored traces; a table
  of the (service, operation)s on the endpoint's critical paths: median and p95 time on the
  path per request, share of the requests' time (all weighted by AdjustedCount: estimates),
  the change of the median against the previous window of the same length, and the requests
  it is on the path of, estimated and stored.

Durations are ``format_ms(..., compact=True)``. ``--json`` prints the API's ``data``. Failures
are one line on stderr (exit 2 for bad input, 1 otherwise), as the query commands.
"""

from __future__ import annotations

import click

from spanhouse.cli.client import fetch
from spanhouse.cli.command import Command
from spanhouse.cli.options import api_options, checked_trace_id, window_options, window_params
from spanhouse.cli.render import (ESTIMATE_NOTE, console, estimate, format_ms, local_time,
                                  print_json)
from spanhouse.errors import InvalidInput

HOP_OPERATION_WIDTH = 40
BOTTLENECK_OPERATION_WIDTH = 60


def register(group: click.Group) -> None:
    """Add ``bottleneck`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(bottleneck_command)


@click.command("bottleneck", cls=Command)
@click.argument("trace_id", metavar="[TRACE_ID]", required=False)
@click.option("--endpoint", metavar='"SERVICE OPERATION"',
              help='Aggregate over an endpoint\'s traces instead: its root service and '
                   'operation, e.g. "api-gateway GET /checkout".')
@click.option("--max-traces", type=click.IntRange(1, 10_000), metavar="N",
              help="With --endpoint: analyze at most the N newest traces.  [default: 2000]")
@window_options
@api_options
def bottleneck_command(trace_id, endpoint, max_traces, since, start, end, server,
                       as_json) -> None:
    """The critical path and bottleneck of one trace, or the bottlenecks of an endpoint.

    With TRACE_ID: the request's path service by service (time on the critical path) and the
    span that held it up most. With --endpoint: per service and operation, the median and p95
    time on the endpoint's critical paths, the share of the requests' time, and the change
    against the previous window of the same length.
    """
    if trace_id is not None and endpoint is not None:
        raise InvalidInput("bottleneck: give a TRACE_ID or --endpoint, not both")
    if trace_id is None and endpoint is None:
        raise InvalidInput('bottleneck: give a TRACE_ID or --endpoint "SERVICE OPERATION"')
    if trace_id is not None:
        if any(v is not None for v in (since, start, end, max_traces)):
            raise InvalidInput("bottleneck: --since, --start, --end and --max-traces go with "
                               "--endpoint")
        answer = fetch(server, f"/api/v1/bottleneck/{checked_trace_id(trace_id, 'bottleneck')}")
        if as_json:
            return print_json(answer["data"])
        for line in trace_lines(answer["data"]):
            click.echo(line)
        return
    service, _, operation = endpoint.strip().partition(" ")
    if not service or not operation.strip():
        raise InvalidInput('--endpoint: expected "SERVICE OPERATION" such as '
                           f'"api-gateway GET /checkout", not {endpoint!r}')
    params = window_params(since, start, end)
    params.append(("endpoint", f"{service} {operation.strip()}"))
    if max_traces is not None:
        params.append(("max_traces", str(max_traces)))
    answer = fetch(server, "/api/v1/bottleneck", params)
    if as_json:
        return print_json(answer["data"])
    print_endpoint(answer["data"])


# ------------------------------------------------------------------ output
def _ms(ms: float) -> str:
    return format_ms(ms, compact=True)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + " …"


def hop_label(hop: dict, first: bool) -> str:
    """A hop of the critical path: the first as ``service operation``, a query as
    ``operation (db)``, the others by their service."""
    if hop.get("db_system"):
        return f"{_short(hop['operation'], HOP_OPERATION_WIDTH)} ({hop['db_system']})"
    if first:
        return f"{hop['service']} {hop['operation']}"
    return hop["service"]


def _drawn_hops(data: dict) -> list[tuple[str, float, bool]]:
    """The critical path's hops as the seed lists them: each service once (its time on the
    path added up, in order of first appearance), each query on its own, but queries under
    0.5% of the path left out."""
    hops = data.get("path") or []
    found = data.get("bottleneck") or {}
    total = sum(h["time_ms"] for h in hops) or 1.0
    drawn: list[list] = []
    index: dict[str, int] = {}
    for hop in hops:
        is_bottleneck = (hop["service"], hop["operation"]) == (found.get("service"),
                                                                found.get("operation"))
        if hop.get("db_system") and not is_bottleneck and hop["time_ms"] < 0.005 * total:
            continue  # e.g. the pool opening a connection
        label = hop_label(hop, False)
        if label in index:
            drawn[index[label]][1] += hop["time_ms"]
            drawn[index[label]][2] |= is_bottleneck
            continue
        index[label] = len(drawn)
        drawn.append([label, hop["time_ms"], is_bottleneck])
    return [(label, ms, flag) for label, ms, flag in drawn]


def seed_drawing(data: dict) -> list[str]:
    """The request as the seed draws it: the hops, each one's time below it, and a caret
    under the bottleneck."""
    hops = _drawn_hops(data)
    if not hops:
        return []
    cells = [("User Request", "", False)] + [
        (label, _ms(ms), flag) for label, ms, flag in hops] + [
        ("Response", "", False)]
    names, times, caret = "", "", ""
    for i, (label, time_text, flag) in enumerate(cells):
        width = max(len(label), len(time_text))
        start = len(names)
        names += label.center(width)
        times = times.ljust(start) + time_text.center(width)
        if flag and not caret:
            caret = " " * (start + width // 2) + "^"
        if i < len(cells) - 1:
            names += " → "
    lines = [names.rstrip(), times.rstrip()]
    if caret:
        note = "This is your bottleneck"
        lines += [caret, " " * max(0, len(caret) - 1 - len(note) // 2) + note]
    return lines


def trace_lines(data: dict) -> list[str]:
    """The human output of ``spanhouse bottleneck TRACE_ID``."""
    root = data["root"]
    lines = [f"Trace {data['trace_id']}  {root['service']} {root['operation']} · "
             f"{_ms(data['duration_ms'])} · started {local_time(data['start'])}"]
    hops = data.get("path") or []
    if hops:
        lines.append(" → ".join(f"{hop_label(hop, i == 0)} {_ms(hop['time_ms'])}"
                                for i, hop in enumerate(hops)))
    drawing = seed_drawing(data)
    if drawing:
        lines += ["", *drawing, ""]
    found = data.get("bottleneck")
    if found is None:
        lines.append("bottleneck: none (the trace has no duration)")
        return lines
    what = _short(found["operation"], BOTTLENECK_OPERATION_WIDTH)
    if found.get("db_system"):
        what += f" ({found['db_system']})"
    lines.append(f"bottleneck: {found['service']} → {what} "
                 f"{_ms(found['critical_path_ms'])}, {_percent(found['share'])} "
                 "of the request")
    if data.get("async_paths"):
        count = len(data["async_paths"])
        lines.append(f"({count} asynchronous branch{'es' * (count != 1)} not on the path)")
    return lines


def _change(row: dict, had_previous: bool) -> str:
    change = row.get("change")
    if change is None:
        return "new" if had_previous else "n/a"
    delta = change["median_ms"]
    text = ("+" if delta > 0 else "-" if delta < 0 else "±") + _ms(abs(delta))
    if change.get("median_ratio") is not None:
        text += f" ({change['median_ratio'] * 100:+.0f}%)"
    return text


def _window_line(win: dict) -> tuple[str, str]:
    """The window's figures: the estimates (requests, weighted median / p95 / p99 of the
    request duration), then the stored traces (and how many of them were analyzed)."""
    stored = win.get("stored_traces", win["total_traces"])
    est = win.get("estimated_traces", stored)
    figures = [f"median {_ms(win['median_duration_ms'])}"]
    figures += [f"{name} {_ms(win[key])}" for name, key in (("p95", "p95_duration_ms"),
                                                             ("p99", "p99_duration_ms"))
                if win.get(key) is not None]
    estimated = f"est.: {estimate(est)} requests, {', '.join(figures)}"
    kept = f"stored: {stored:,} trace{'s' * (stored != 1)}"
    if win.get("stored_median_duration_ms") is not None:
        kept += f", median {_ms(win['stored_median_duration_ms'])}"
    if win["capped"]:
        kept += f"; the newest {win['traces']:,} of {stored:,} traces analyzed"
    return estimated, kept


def print_endpoint(data: dict) -> None:
    """The human output of ``spanhouse bottleneck --endpoint``: estimates first (weighted by
    AdjustedCount), stored counts second."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    win, before = data["window"], data["previous_window"]
    span = f"{local_time(win['start'])} to {local_time(win['end'])}"
    name = f"{data['service']} {data['operation']}"
    if not win["traces"]:
        out.print(f"No traces of {name} {span}.", markup=False)
        return
    estimated, kept = _window_line(win)
    out.print(f"Bottlenecks of {name}, {span}", markup=False)
    out.print(f"{estimated} ({kept})", markup=False)
    table = Table()
    table.add_column("SERVICE", no_wrap=True)
    table.add_column("OPERATION", overflow="fold", max_width=60)
    table.add_column("EST. MEDIAN", justify="right", no_wrap=True)
    table.add_column("EST. P95", justify="right", no_wrap=True)
    table.add_column("EST. SHARE", justify="right", no_wrap=True)
    table.add_column("CHANGE", justify="right", no_wrap=True)
    table.add_column("ON PATH: EST./STORED", justify="right", no_wrap=True)
    had_previous = before["traces"] > 0
    for row in data["operations"]:
        on_path = row.get("traces_on_path")
        table.add_row(escape(row["service"]), escape(row["operation"]),
                      _ms(row["median_ms"]), _ms(row["p95_ms"]),
                      _percent(row["share"]), _change(row, had_previous),
                      "" if on_path is None else
                      f"{estimate(row.get('estimated_traces_on_path', on_path))}/{on_path:,}")
    out.print(table)
    out.print(f"[dim]Per request on the critical path; {ESTIMATE_NOTE}[/dim]")
    if had_previous:
        out.print(f"[dim]Change: est. median against {local_time(before['start'])} to "
                  f"{local_time(before['end'])} (est. "
                  f"{estimate(before.get('estimated_traces', before['traces']))} requests, "
                  f"{before.get('stored_traces', before['total_traces']):,} stored traces)."
                  "[/dim]")
    else:
        out.print("[dim]No traces in the previous window to compare with.[/dim]")
