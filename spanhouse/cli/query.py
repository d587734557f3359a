"""The query commands (``slowest``, ``errors``, ``find``, ``search``, ``trace``): thin clients of
the server's ``/api/v1`` API.

Each command checks its flags, calls one endpoint (``spanhouse.cli.client``) and prints the
answer: rich tables (or a text waterfall for ``trace``) by default, the API's ``data`` as JSON
with ``--json``. Failures are typed errors, one line on stderr (``spanhouse.cli.command``): exit
2 for bad input (ours or the API's 400), 1 for anything else (server unreachable, trace not
found, store unavailable).
"""

from __future__ import annotations

import difflib

import click

from spanhouse.cli.client import fetch
from spanhouse.cli.command import Command
from spanhouse.cli.options import (add_param, api_options, attr_option, checked_trace_id,
                                   limit_option, operation_option, service_option, window_options,
                                   window_params)
from spanhouse.cli.render import (console, local_time, print_errors, print_json, print_summaries,
                                  span_of)
from spanhouse.cli.waterfall import waterfall
from spanhouse.errors import InvalidInput, NotFound, SpanhouseError
from spanhouse.query.model import SORTS, STATUSES, rfc3339
from spanhouse.timeparse import parse_duration, parse_time


def known_services(server: str | None) -> list[str] | None:
    """Every service the store holds (``/api/v1/services``, else Jaeger's ``/api/services`` of
    the same server), or None when neither answers."""
    for path in ("/api/v1/services", "/api/services"):
        try:
            data = fetch(server, path)["data"]
        except SpanhouseError:
            continue
        if isinstance(data, list):
            return [str(name) for name in data]
    return None


def check_service(server: str | None, service: str | None) -> None:
    """After an empty answer: a ``--service`` the store has never seen is a ``NotFound`` naming
    the close names (``payment`` -> ``payment-service``)."""
    if service is None:
        return
    names = known_services(server)
    if names is None or service in names:
        return
    close = [n for n in names if service.lower() in n.lower()]
    close += [n for n in difflib.get_close_matches(service, names, n=3, cutoff=0.6)
              if n not in close]
    if close:
        raise NotFound(f"no service {service!r}; did you mean {' or '.join(close[:3])}?")
    shown = ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else "")
    raise NotFound(f"no service {service!r}; the services are: {shown or 'none yet'}")


def register(group: click.Group) -> None:
    """Add the query commands to ``group`` (the ``spanhouse`` command)."""
    for command in (slowest, errors, find, search, trace):
        group.add_command(command)


def show_summaries(server, path: str, params: list, service, as_json: bool, titles) -> None:
    """Fetch trace summaries from ``path`` and print them (a table, or ``--json``); with no
    trace found, say first whether ``service`` is a name the store knows. ``titles(query)``
    gives the table's (title, empty-result text) from the effective query."""
    answer = fetch(server, path, params)
    if not answer["data"]:
        check_service(server, service)
    if as_json:
        return print_json(answer["data"])
    print_summaries(answer["data"], *titles(answer["query"]))


@click.command(cls=Command)
@window_options
@service_option
@operation_option
@attr_option
@limit_option
@api_options
def slowest(since, start, end, service, operation, attr, limit, server, as_json) -> None:
    """The slowest traces in a window (the last hour by default)."""
    params = window_params(since, start, end)
    add_param(params, "service", service)
    add_param(params, "operation", operation)
    params += [("attr", a) for a in attr]
    add_param(params, "limit", limit)
    show_summaries(server, "/api/v1/slowest", params, service, as_json,
                   lambda q: (f"Slowest traces, {span_of(q)}", f"No traces {span_of(q)}."))


@click.command(cls=Command)
@window_options
@api_options
def errors(since, start, end, server, as_json) -> None:
    """Errors in a window, grouped by service (most error spans first).

    ROLE says whether a service's errors start there (origin), only come from the services it
    calls (propagates), or both.
    """
    answer = fetch(server, "/api/v1/errors", window_params(since, start, end))
    if as_json:
        return print_json(answer["data"])
    print_errors(answer["data"], answer["query"])


@click.command(cls=Command)
@click.argument("key_value", metavar="KEY=VALUE")
@click.option("--at", metavar="TIME",
              help="Around this time: 2026-11-24T10:31:00Z, 10:31 (today, local time), "
                   "'10m ago'.  [default: now]")
@click.option("--window", metavar="DURATION", help="How far either side of --at.  [default: 15m]")
@limit_option
@api_options
def find(key_value, at, window, limit, server, as_json) -> None:
    """Traces whose spans (or resources) have attribute KEY equal to VALUE around a time.

    Example: spanhouse find user.id=user-42 --at 10:31
    """
    key, sep, value = key_value.partition("=")
    if not sep or not key or not value:
        raise InvalidInput(f"find: expected KEY=VALUE such as user.id=user-42, not {key_value!r}")
    params = [("key", key), ("value", value)]
    if at is not None:
        params.append(("at", rfc3339(parse_time(at, None, "--at"))))
    if window is not None:
        parse_duration(window, "--window")
        params.append(("window", window))
    add_param(params, "limit", limit)
    answer = fetch(server, "/api/v1/find", params)
    if as_json:
        return print_json(answer["data"])
    query = answer["query"]
    where = f"{query['key']}={query['value']} within {query['window']} of {local_time(query['at'])}"
    print_summaries(answer["data"], f"Traces with {where}", f"No traces with {where}.")


@click.command(cls=Command)
@service_option
@operation_option
@attr_option
@click.option("--status", type=click.Choice(STATUSES), help="Only traces with a span of this status.")
@click.option("--min-duration", metavar="DURATION", help="Shortest duration, e.g. 500ms.")
@click.option("--max-duration", metavar="DURATION", help="Longest duration, e.g. 10s.")
@click.option("--duration-level", type=click.Choice(["trace", "span"]),
              help="Whether the durations apply to the trace or to a matching span.  "
                   "[default: trace]")
@window_options
@limit_option
@click.option("--sort", type=click.Choice(SORTS), help="Result order.  [default: recent]")
@api_options
def search(service, operation, attr, status, min_duration, max_duration, duration_level, since,
           start, end, limit, sort, server, as_json) -> None:
    """Search traces by service, operation, attributes, status and duration.

    A --service the store has never seen fails (exit 1) naming the close names.
    """
    params = window_params(since, start, end)
    add_param(params, "service", service)
    add_param(params, "operation", operation)
    params += [("attr", a) for a in attr]
    add_param(params, "status", status)
    for flag, name, value in (("--min-duration", "min_duration", min_duration),
                              ("--max-duration", "max_duration", max_duration)):
        if value is not None:
            parse_duration(value, flag)
            params.append((name, value))
    add_param(params, "duration_level", duration_level)
    add_param(params, "limit", limit)
    add_param(params, "sort", sort)
    show_summaries(server, "/api/v1/search", params, service, as_json,
                   lambda q: (f"Traces, {span_of(q)} ({q['sort']} first)",
                              f"No matching traces {span_of(q)}."))


@click.command(cls=Command)
@click.argument("trace_id", metavar="ID")
@api_options
def trace(trace_id, server, as_json) -> None:
    """One trace as a waterfall: a line per span, indented by depth, with a bar over the
    trace's time span. Errors are marked with ✗."""
    answer = fetch(server, f"/api/v1/traces/{checked_trace_id(trace_id, 'trace')}")
    if as_json:
        return print_json(answer["data"])
    out = console()
    for line in waterfall(answer["data"]):
        out.print(line)

