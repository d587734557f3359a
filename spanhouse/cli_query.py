"""The query commands (``slowest``, ``errors``, ``find``, ``search``, ``trace``): thin clients of
the server's ``/api/v1`` API.

Each command checks its flags, calls one endpoint with httpx and prints the answer: rich tables
(or a text waterfall for ``trace``) by default, the API's ``data`` as JSON with ``--json``.
Times given as ``HH:MM`` or ``10m ago`` are resolved here, in the client's local time, and sent
as RFC 3339. Failures are one line on stderr: exit 2 for bad input (ours or the API's 400),
1 for anything else (server unreachable, trace not found, store unavailable).
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections import defaultdict
from typing import Any, NoReturn

import click
import httpx
import orjson

from spanhouse.errors import InvalidInput
from spanhouse.query.model import MAX_LIMIT, SORTS, STATUSES, rfc3339
from spanhouse.timeparse import parse_duration, parse_time, resolve_window

DEFAULT_SERVER = "http://127.0.0.1:16686"
TIMEOUT_S = 30.0
BAR_WIDTH = 40
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")


def register(group: click.Group) -> None:
    """Add the query commands to ``group`` (the ``spanhouse`` command)."""
    for command in (slowest, errors, find, search, trace):
        group.add_command(command)


# ------------------------------------------------------------------ failures and the API client
def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"spanhouse: {message}", err=True)
    sys.exit(code)


def _server_url(server: str | None) -> str:
    return (server or DEFAULT_SERVER).rstrip("/")


def fetch(server: str | None, path: str, params: list[tuple[str, str]] | None = None) -> dict:
    """GET ``/api/v1/...`` and return the whole answer (``data`` and ``query``); exits on error."""
    base = _server_url(server)
    try:
        response = httpx.get(base + path, params=params or [], timeout=TIMEOUT_S)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        _fail(f"--server: {base!r} is not an http(s) URL such as {DEFAULT_SERVER}", 2)
    except (httpx.ConnectError, httpx.ConnectTimeout):
        _fail(f'cannot reach the server at {base} (is "spanhouse serve" running? '
              "set --server or SPANHOUSE_SERVER)", 1)
    except httpx.TimeoutException:
        _fail(f"the server at {base} did not answer within {TIMEOUT_S:g} s", 1)
    except httpx.HTTPError as exc:
        _fail(f"cannot talk to the server at {base}: {exc}", 1)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and "data" in body:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        _fail(error["message"], 2 if response.status_code == 400 else 1)
    _fail(f"unexpected answer from {base}{path} (HTTP {response.status_code}); "
          "is it a Spanhouse server?", 1)


def _checked(fn, *args):
    """Run a local parser; its InvalidInput becomes exit 2."""
    try:
        return fn(*args)
    except InvalidInput as exc:
        _fail(str(exc), 2)


def _window_params(since: str | None, start: str | None, end: str | None) -> list[tuple[str, str]]:
    """``--since`` goes as is; ``--start``/``--end`` are resolved here (local time) to RFC 3339."""
    if since is not None and start is not None:
        _fail("give either --since or --start/--end, not both", 2)
    if start is None and end is None:
        if since is None:
            return []
        _checked(parse_duration, since, "--since")
        return [("since", since)]
    lo, hi = _checked(lambda: resolve_window(since, start, end))
    return ([("start", rfc3339(lo))] if start is not None else [("since", since or "1h")]) + \
        [("end", rfc3339(hi))]


# ------------------------------------------------------------------ options
def _common(command):
    command = click.option("--json", "as_json", is_flag=True,
                           help="Print the API's data as JSON (stable; see docs/api.md).")(command)
    command = click.option("--server", metavar="URL", envvar="SPANHOUSE_SERVER",
                           help="The Spanhouse server.  [env: SPANHOUSE_SERVER; default: "
                                f"{DEFAULT_SERVER}]")(command)
    return command


def _window(command):
    command = click.option("--end", metavar="TIME", help="End of the window.  [default: now]")(command)
    command = click.option("--start", metavar="TIME",
                           help="Start of the window, instead of --since: 2026-11-24T10:31:00Z, "
                                "10:31 (today, local time), '2h ago'.")(command)
    command = click.option("--since", metavar="DURATION",
                           help="Look back this far, e.g. 15m, 1h, 24h.  [default: 1h]")(command)
    return command


_LIMIT = click.option("--limit", type=click.IntRange(1, MAX_LIMIT), metavar="N",
                      help="At most N traces.  [default: 20]")
_SERVICE = click.option("--service", metavar="NAME", help="Only traces with a span of this service.")
_OPERATION = click.option("--operation", metavar="NAME", help="Only traces with a span of this name.")


def _opt(params: list, name: str, value) -> None:
    if value is not None:
        params.append((name, str(value)))


# ------------------------------------------------------------------ commands
@click.command()
@_window
@_SERVICE
@_OPERATION
@click.option("--attr", multiple=True, metavar="K=V",
              help="Attribute filter, repeatable: key=value, key (present) or key~regex.")
@_LIMIT
@_common
def slowest(since, start, end, service, operation, attr, limit, server, as_json) -> None:
    """The slowest traces in a window (the last hour by default)."""
    params = _window_params(since, start, end)
    _opt(params, "service", service)
    _opt(params, "operation", operation)
    params += [("attr", a) for a in attr]
    _opt(params, "limit", limit)
    answer = fetch(server, "/api/v1/slowest", params)
    if as_json:
        return _print_json(answer["data"])
    query = answer["query"]
    _print_summaries(answer["data"], f"Slowest traces, {_span_of(query)}",
                     f"No traces {_span_of(query)}.")


@click.command()
@_window
@_common
def errors(since, start, end, server, as_json) -> None:
    """Errors in a window, grouped by service (most error spans first).

    ROLE says whether a service's errors start there (origin), only come from the services it
    calls (propagates), or both.
    """
    answer = fetch(server, "/api/v1/errors", _window_params(since, start, end))
    if as_json:
        return _print_json(answer["data"])
    _print_errors(answer["data"], answer["query"])


@click.command()
@click.argument("key_value", metavar="KEY=VALUE")
@click.option("--at", metavar="TIME",
              help="Around this time: 2026-11-24T10:31:00Z, 10:31 (today, local time), "
                   "'10m ago'.  [default: now]")
@click.option("--window", metavar="DURATION", help="How far either side of --at.  [default: 15m]")
@_LIMIT
@_common
def find(key_value, at, window, limit, server, as_json) -> None:
    """Traces whose spans (or resources) have attribute KEY equal to VALUE around a time.

    Example: spanhouse find user.id=42 --at 10:31
    """
    key, sep, value = key_value.partition("=")
    if not sep or not key or not value:
        _fail(f"find: expected KEY=VALUE such as user.id=42, not {key_value!r}", 2)
    params = [("key", key), ("value", value)]
    if at is not None:
        params.append(("at", rfc3339(_checked(parse_time, at, None, "--at"))))
    if window is not None:
        _checked(parse_duration, window, "--window")
        params.append(("window", window))
    _opt(params, "limit", limit)
    answer = fetch(server, "/api/v1/find", params)
    if as_json:
        return _print_json(answer["data"])
    query = answer["query"]
    where = f"{query['key']}={query['value']} within {query['window']} of {_local(query['at'])}"
    _print_summaries(answer["data"], f"Traces with {where}", f"No traces with {where}.")


@click.command()
@_SERVICE
@_OPERATION
@click.option("--attr", multiple=True, metavar="K=V",
              help="Attribute filter, repeatable: key=value, key (present) or key~regex.")
@click.option("--status", type=click.Choice(STATUSES), help="Only traces with a span of this status.")
@click.option("--min-duration", metavar="DURATION", help="Shortest duration, e.g. 500ms.")
@click.option("--max-duration", metavar="DURATION", help="Longest duration, e.g. 10s.")
@click.option("--duration-level", type=click.Choice(["trace", "span"]),
              help="Whether the durations apply to the trace or to a matching span.  "
                   "[default: trace]")
@_window
@_LIMIT
@click.option("--sort", type=click.Choice(SORTS), help="Result order.  [default: recent]")
@_common
def search(service, operation, attr, status, min_duration, max_duration, duration_level, since,
           start, end, limit, sort, server, as_json) -> None:
    """Search traces by service, operation, attributes, status and duration."""
    params = _window_params(since, start, end)
    _opt(params, "service", service)
    _opt(params, "operation", operation)
    params += [("attr", a) for a in attr]
    _opt(params, "status", status)
    for flag, name, value in (("--min-duration", "min_duration", min_duration),
                              ("--max-duration", "max_duration", max_duration)):
        if value is not None:
            _checked(parse_duration, value, flag)
            params.append((name, value))
    _opt(params, "duration_level", duration_level)
    _opt(params, "limit", limit)
    _opt(params, "sort", sort)
    answer = fetch(server, "/api/v1/search", params)
    if as_json:
        return _print_json(answer["data"])
    query = answer["query"]
    _print_summaries(answer["data"], f"Traces, {_span_of(query)} ({query['sort']} first)",
                     f"No matching traces {_span_of(query)}.")


@click.command()
@click.argument("trace_id", metavar="ID")
@_common
def trace(trace_id, server, as_json) -> None:
    """One trace as a waterfall: a line per span, indented by depth, with a bar over the
    trace's time span. Errors are marked with ✗."""
    if not _TRACE_ID.match(trace_id):
        _fail(f"trace: {trace_id!r} is not a trace id (up to 32 hexadecimal digits)", 2)
    answer = fetch(server, f"/api/v1/traces/{trace_id.lower()}")
    if as_json:
        return _print_json(answer["data"])
    console = _console()
    for line in waterfall(answer["data"]):
        console.print(line)


# ------------------------------------------------------------------ output
def _print_json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _console():
    from rich.console import Console

    console = Console(soft_wrap=False, highlight=False)
    if not console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
        console.width = 200
    return console


def _parse_rfc3339(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local(text: str) -> str:
    """An RFC 3339 time from the API -> local ``YYYY-MM-DD HH:MM:SS``."""
    try:
        return _parse_rfc3339(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, TypeError, AttributeError):
        return str(text)


def _span_of(query: dict) -> str:
    return f"{_local(query.get('start', ''))} to {_local(query.get('end', ''))}"


def format_ms(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(ms / 1000, 60)
    return f"{int(minutes)}m {seconds:.1f}s"


def _print_summaries(rows: list[dict], title: str, empty: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    if not rows:
        console.print(empty, markup=False)
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
            _local(row["start"]), format_ms(row["duration_ms"]), str(row["span_count"]),
            f"[red]{error_count}[/red]" if error_count else "0",
            escape(", ".join(row["services"])))
    console.print(table)
    console.print("[dim]Open one with: spanhouse trace TRACE_ID[/dim]")


def _print_errors(rows: list[dict], query: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    if not rows:
        console.print(f"No errors {_span_of(query)}.", markup=False)
        return
    sampled = any(r["estimated_requests"] != r["requests"] or
                  r["estimated_error_spans"] != r["error_spans"] for r in rows)
    table = Table(title=f"Errors by service, {_span_of(query)}", title_justify="left")
    table.add_column("SERVICE", no_wrap=True)
    table.add_column("ERROR SPANS", justify="right")
    table.add_column("TRACES", justify="right")
    table.add_column("REQUESTS", justify="right")
    table.add_column("ERROR RATE", justify="right")
    if sampled:
        table.add_column("EST. RATE", justify="right")
    table.add_column("ROLE")
    table.add_column("TOP OPERATION", overflow="fold")
    table.add_column("TOP MESSAGE", overflow="fold", max_width=60)
    for row in rows:
        top_op = row["top_operations"][0] if row["top_operations"] else None
        top_msg = row["top_messages"][0] if row["top_messages"] else None
        cells = [escape(row["service"]), str(row["error_spans"]), str(row["error_traces"]),
                 str(row["requests"]), f"{row['error_rate']:.1%}"]
        if sampled:
            cells.append(f"{row['estimated_error_rate']:.1%}")
        cells += [row["role"],
                  escape(f"{top_op['operation']} ({top_op['count']})") if top_op else "",
                  escape(f"{top_msg['message']} ({top_msg['count']})") if top_msg else ""]
        table.add_row(*cells)
    console.print(table)


def _span_order(spans: list[dict]) -> list[tuple[dict, int]]:
    """Depth-first from the roots (spans whose parent is absent), children by start time."""
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str, list[dict]] = defaultdict(list)
    roots = []
    for span in spans:
        parent = span.get("parent_span_id") or ""
        if parent and parent in by_id and parent != span["span_id"]:
            children[parent].append(span)
        else:
            roots.append(span)
    key = lambda s: (s["start_ns"], s["span_id"])  # noqa: E731
    ordered: list[tuple[dict, int]] = []
    seen: set[str] = set()
    for root in sorted(roots, key=key):
        stack = [(root, 0)]
        while stack:
            span, depth = stack.pop()
            if span["span_id"] in seen:
                continue
            seen.add(span["span_id"])
            ordered.append((span, depth))
            stack.extend((c, depth + 1) for c in sorted(children[span["span_id"]], key=key,
                                                        reverse=True))
    # Spans caught in a parent cycle are never reached from a root: list them flat at the end.
    ordered += [(s, 0) for s in sorted(spans, key=key) if s["span_id"] not in seen]
    return ordered


def waterfall(trace_data: dict, bar_width: int = BAR_WIDTH, label_width: int = 60) -> list:
    """The lines (rich ``Text``) of ``spanhouse trace``."""
    from rich.text import Text

    spans = trace_data["spans"]
    if not spans:
        return [Text(f"Trace {trace_data.get('trace_id', '')} has no spans.")]
    t0 = min(s["start_ns"] for s in spans)
    t1 = max(s["start_ns"] + s["duration_ns"] for s in spans)
    total = max(t1 - t0, 1)
    by_id = {s["span_id"] for s in spans}
    rows = []
    for span, depth in _span_order(spans):
        failed = span["status"]["code"] == "error"
        label = Text("  " * depth)
        label.append(span["service"], style="bold cyan")
        label.append(f" {span['name']}")
        if span.get("parent_span_id") and span["parent_span_id"] not in by_id:
            label.append(" (parent missing)", style="yellow")
        if failed:
            label.append(" ✗", style="bold red")
        rows.append((span, label, failed))
    width = min(max(len(label.plain) for _, label, _ in rows), label_width)

    n_services = len(trace_data.get("services") or {s["service"] for s in spans})
    error_count = trace_data.get("error_count", sum(1 for _, _, f in rows if f))
    header = Text(f"Trace {trace_data.get('trace_id', spans[0]['trace_id'])}", style="bold")
    header.append(f"  {len(spans)} spans · {n_services} service{'s' * (n_services != 1)} · "
                  f"{format_ms(trace_data.get('duration_ms', total / 1e6))}")
    if trace_data.get("start"):
        header.append(f" · started {_local(trace_data['start'])}")
    if error_count:
        header.append(f" · {error_count} error{'s' * (error_count != 1)}", style="red")
    scale_end = format_ms(total / 1e6)
    # "0" above the bar's first cell, the trace's length ending above its last.
    scale = Text(" " * (width + 3) + "0" + scale_end.rjust(bar_width - 1), style="dim")
    lines = [header, scale]
    for span, label, failed in rows:
        offset = min(int((span["start_ns"] - t0) * bar_width / total), bar_width - 1)
        length = max(1, round(span["duration_ns"] * bar_width / total))
        length = min(length, bar_width - offset)
        if len(label.plain) > width:
            label.truncate(width - 1)
            label.append("…")
        line = Text()
        line.append_text(label)
        line.append(" " * (width - len(label.plain) + 2))
        line.append("│" + " " * offset)
        line.append("█" * length, style="red" if failed else "green")
        line.append(" " * (bar_width - offset - length) + "│")
        line.append(f" {format_ms(span['duration_ms']):>10}")
        if failed and span["status"].get("message"):
            line.append(f"  {span['status']['message']}", style="red")
        lines.append(line)
    return lines
