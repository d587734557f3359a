"""What the client commands (and the demo) print: the API's data as JSON, times and durations
for people, the trace summaries table and the errors-by-service table."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import click
import orjson


def console():
    """A rich console for stdout; piped or captured output is not squeezed into 80 columns."""
    from rich.console import Console

    out = Console(soft_wrap=False, highlight=False)
    if not out.is_terminal:
        out.width = 200
    return out


def print_json(data: Any) -> None:
    """``--json``: the API's ``data``, indented."""
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


# ------------------------------------------------------------------ times and durations
def local_time(text: str) -> str:
    """An RFC 3339 time from the API -> local ``YYYY-MM-DD HH:MM:SS`` (as is when it is not one)."""
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, TypeError, AttributeError):
        return str(text)


def span_of(query: dict) -> str:
    """The window of an answer's ``query``: ``<start> to <end>`` in local time."""
    return f"{local_time(query.get('start', ''))} to {local_time(query.get('end', ''))}"


def format_ms(ms: float, *, compact: bool = False) -> str:
    """A duration in milliseconds for people: ``850 µs``, ``250.0 ms``, ``1.25 s``, ``1m 30.0s``.

    ``compact`` (the bottleneck's paths and tables, where many durations stand side by side):
    whole milliseconds from 10 ms, a trimmed decimal below, and ``0 ms`` for nothing: ``0 ms``,
    ``2.5 ms``, ``5 ms``, ``120 ms``.
    """
    if compact and ms == 0:
        return "0 ms"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        if not compact:
            return f"{ms:.1f} ms"
        if ms < 10:
            return f"{ms:.1f}".rstrip("0").rstrip(".") + " ms"
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(ms / 1000, 60)
    return f"{int(minutes)}m {seconds:.1f}s"


# ------------------------------------------------------------------ tables
def print_summaries(rows: list[dict], title: str, empty: str) -> None:
    """Trace summaries (``slowest``, ``find``, ``search``) as a table titled ``title``; ``empty``
    when there are none."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not rows:
        out.print(empty, markup=False)
        return
    table = Table(title=escape(title), title_justify="left")
    table.add_column("TRACE ID", no_wrap=True)
    table.add_column("ROOT", overflow="fold")
    table.add_column("START", no_wrap=True)
    table.add_column("DURATION", justify="right", no_wrap=True)
    table.add_column("SPANS", justify="right")
    table.add_column("ERRORS", justify="right")
    table.add_column("SERVICES", overflow="fold")
    for row in rows:
        error_count = row.get("error_count", 0)
        table.add_row(
            escape(row["trace_id"]), escape(f"{row['root_service']}: {row['root_operation']}"),
            local_time(row["start"]), format_ms(row["duration_ms"]), str(row["span_count"]),
            f"[red]{error_count}[/red]" if error_count else "0",
            escape(", ".join(row["services"])))
    out.print(table)
    out.print("[dim]Open one with: spanhouse trace TRACE_ID[/dim]")


def estimate(value: float) -> str:
    """An estimated count (spans weighted by AdjustedCount): whole numbers, ``1,250``; below
    10 one decimal (``2.5``), so a fraction of a span is not shown as a whole one."""
    if value < 10 and value != int(value):
        return f"{value:.1f}"
    return f"{value:,.0f}"


ESTIMATE_NOTE = ("est.: estimated from the stored spans, each counted as the spans it stands "
                 "for (AdjustedCount); stored: the spans kept.")


def _top(item: dict | None, name: str) -> str:
    """A top operation or message: ``label (est. 380, 19 stored)``."""
    if not item:
        return ""
    text = item.get("label") or item[name]
    stored = item["count"]
    return f"{text} (est. {estimate(item.get('estimated_count', stored))}, {stored} stored)"


def print_errors(rows: list[dict], query: dict) -> None:
    """Errors by service (``errors``), in the API's order (where errors start first): the
    estimates first (error rate, error requests, requests), the stored counts second."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    if not rows:
        out.print(f"No errors {span_of(query)}.", markup=False)
        return
    table = Table(title=f"Errors by service, {span_of(query)}", title_justify="left")
    table.add_column("SERVICE", no_wrap=True)
    table.add_column("ROLE")
    table.add_column("EST. ERROR RATE", justify="right")
    table.add_column("EST. ERRORS", justify="right")
    table.add_column("EST. REQUESTS", justify="right")
    table.add_column("STORED ERRORS/REQUESTS", justify="right")
    table.add_column("TOP OPERATION", overflow="fold")
    table.add_column("TOP MESSAGE", overflow="fold", max_width=60)
    for row in rows:
        stored_errors = round(row["error_rate"] * row["requests"])
        table.add_row(
            escape(row["service"]), row["role"], f"{row['estimated_error_rate']:.1%}",
            estimate(row.get("estimated_error_requests", row["estimated_error_spans"])),
            estimate(row["estimated_requests"]), f"{stored_errors}/{row['requests']}",
            escape(_top(row["top_operations"][0] if row["top_operations"] else None,
                        "operation")),
            escape(_top(row["top_messages"][0] if row["top_messages"] else None, "message")))
    out.print(table)
    out.print(f"[dim]{ESTIMATE_NOTE}[/dim]")
