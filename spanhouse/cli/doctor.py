"""``spanhouse doctor``: the trace doctor, a thin client of ``GET /api/v1/doctor``.

Prints the sampling figures (the estimated traffic first, the stored spans second), the checked
window's note, then one block per finding (severity, title, its count: the estimate under
sampling first, "est. N", the stored count second, offending services, example trace ids, the
fix), or "No problems found"; ``--json`` prints the API's data.
Failures are one line on stderr: exit 2 for bad input (ours or the API's 400), 1 otherwise.
"""

from __future__ import annotations

import click

from spanhouse.cli.client import fetch
from spanhouse.cli.command import Command
from spanhouse.cli.options import api_options, window_options, window_params
from spanhouse.cli.render import console, print_json, span_of
from spanhouse.errors import InvalidInput

_KEY_CHARS = set(" '\"`\\")
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def register(group: click.Group) -> None:
    """Add ``doctor`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(doctor)


@click.command(cls=Command)
@window_options
@click.option("--key", "keys", multiple=True, metavar="KEY",
              help="A business key entry spans should carry, repeatable.  "
                   "[default: user.id, order.id, tenant.id]")
@api_options
def doctor(since, start, end, keys, server, as_json) -> None:
    """Find what is wrong with the traces themselves: context not propagated (broken traces),
    queue hops without links, entry spans without business context (user.id, ...), over- or
    under-sampling, clock skew, bad durations, huge traces, ids in span names.

    Each finding comes with example trace ids and the fix.
    """
    params = window_params(since, start, end)
    for key in keys:
        if not key or _KEY_CHARS & set(key) or any(ord(c) < 32 for c in key):
            raise InvalidInput(f"--key: {key!r} is not an attribute key such as user.id")
        params.append(("key", key))
    answer = fetch(server, "/api/v1/doctor", params)
    if as_json:
        return print_json(answer["data"])
    print_report(answer["data"], answer["query"])


def _rate(value: float) -> str:
    if value >= 0.1:
        return f"{value:.0%}"
    if value >= 0.001:
        return f"{value:.1%}"
    return f"{value:.3%}"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def sampling_line(sampling: dict) -> str:
    """The traffic the window's spans stand for (estimated: weighted by AdjustedCount) first,
    then what is stored, and the effective sampling rate (stored / estimated)."""
    stored, stored_rate = sampling.get("spans", 0), sampling.get("spans_per_second", 0)
    est = sampling.get("estimated_spans", stored)
    est_rate = sampling.get("estimated_spans_per_second", stored_rate)
    per_day = (f", about {_size(sampling['bytes_per_day'])}/day"
               if sampling.get("bytes_per_day") is not None else "")
    return (f"est. {est:,.0f} spans ({est_rate:,.1f}/s); stored {stored:,} spans "
            f"({stored_rate:,.1f}/s{per_day}); effective sampling rate "
            f"{_rate(sampling.get('rate', 1.0))}")


def finding_count(finding: dict) -> str:
    """``est. 240, stored 12``: the finding's estimated count (weighted by AdjustedCount)
    first, the stored one second (an older server sends no estimate: the stored count)."""
    stored = finding.get("count", 0)
    return f"est. {finding.get('estimated_count', stored):,.0f}, stored {stored:,}"


def print_report(data: dict, query: dict) -> None:
    """The human output of ``spanhouse doctor``."""
    from rich.markup import escape

    out = console()
    findings = data.get("findings") or []
    sampling = data.get("sampling") or {}
    out.print(f"[bold]Trace doctor[/bold], {escape(span_of(query))}")
    if sampling:
        out.print(f"[dim]{escape(sampling_line(sampling))}[/dim]")
    window = data.get("checked_window")
    if isinstance(window, dict) and window.get("note"):
        out.print(f"[dim]{escape(window['note'])}[/dim]")
    out.print()
    if not findings:
        out.print("No problems found.", markup=False)
        return
    out.print(f"{len(findings)} problem{'s' * (len(findings) != 1)} found:", markup=False)
    for f in findings:
        severity = str(f.get("severity", ""))
        style = SEVERITY_STYLE.get(severity, "bold")
        out.print()
        out.print(f"[{style}]{escape(severity.upper())}[/{style}]  [bold]{escape(f['title'])}"
                  f"[/bold]  [dim]({escape(f['code'])}, {finding_count(f)})[/dim]")
        if f.get("services"):
            out.print(f"  services:  {escape(', '.join(f['services']))}")
        if f.get("examples"):
            out.print("  examples:  " + escape(", ".join(f["examples"])))
        out.print(f"  fix:       {escape(f['fix'])}")
    out.print()
    out.print("[dim]Open a trace with: spanhouse trace TRACE_ID[/dim]")
