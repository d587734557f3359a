"""``spanhouse doctor``: the trace doctor, a thin client of ``GET /api/v1/doctor``.

Prints one block per finding (severity, title, count, offending services, example trace ids,
the fix) and the sampling figures, or "No problems found"; ``--json`` prints the API's data.
Failures are one line on stderr: exit 2 for bad input (ours or the API's 400), 1 otherwise.
"""

from __future__ import annotations

import click

from spanhouse.cli_query import (_common, _console, _fail, _print_json, _span_of, _window,
                                 _window_params, fetch)

_KEY_CHARS = set(" '\"`\\")
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def register(group: click.Group) -> None:
    """Add ``doctor`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(doctor)


@click.command()
@_window
@click.option("--key", "keys", multiple=True, metavar="KEY",
              help="A business key entry spans should carry, repeatable.  "
                   "[default: user.id, order.id, tenant.id]")
@_common
def doctor(since, start, end, keys, server, as_json) -> None:
    """Find what is wrong with the traces themselves: context not propagated (broken traces),
    queue hops without links, entry spans without business context (user.id, ...), over- or
    under-sampling, clock skew, bad durations, huge traces, ids in span names.

    Each finding comes with example trace ids and the fix.
    """
    params = _window_params(since, start, end)
    for key in keys:
        if not key or _KEY_CHARS & set(key) or any(ord(c) < 32 for c in key):
            _fail(f"--key: {key!r} is not an attribute key such as user.id", 2)
        params.append(("key", key))
    answer = fetch(server, "/api/v1/doctor", params)
    if as_json:
        return _print_json(answer["data"])
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


def print_report(data: dict, query: dict) -> None:
    from rich.markup import escape

    console = _console()
    findings = data.get("findings") or []
    sampling = data.get("sampling") or {}
    console.print(f"[bold]Trace doctor[/bold], {escape(_span_of(query))}")
    if sampling:
        line = (f"Stored {sampling.get('spans', 0):,} spans ({sampling.get('spans_per_second', 0):,.1f}/s"
                + (f", about {_size(sampling['bytes_per_day'])}/day"
                   if sampling.get("bytes_per_day") is not None else "")
                + f"); effective sampling rate {_rate(sampling.get('rate', 1.0))}")
        console.print(f"[dim]{escape(line)}[/dim]")
    console.print()
    if not findings:
        console.print("No problems found.", markup=False)
        return
    console.print(f"{len(findings)} problem{'s' * (len(findings) != 1)} found:", markup=False)
    for f in findings:
        severity = str(f.get("severity", ""))
        style = SEVERITY_STYLE.get(severity, "bold")
        console.print()
        console.print(f"[{style}]{escape(severity.upper())}[/{style}]  [bold]{escape(f['title'])}"
                      f"[/bold]  [dim]({escape(f['code'])}, {f['count']:,})[/dim]")
        if f.get("services"):
            console.print(f"  services:  {escape(', '.join(f['services']))}")
        if f.get("examples"):
            console.print("  examples:  " + escape(", ".join(f["examples"])))
        console.print(f"  fix:       {escape(f['fix'])}")
    console.print()
    console.print("[dim]Open a trace with: spanhouse trace TRACE_ID[/dim]")
