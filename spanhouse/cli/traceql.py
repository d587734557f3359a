"""``spanhouse q 'TRACEQL'``: TraceQL from the terminal, a thin client of the server's Grafana
Tempo API (mounted on the UI port under ``/tempo``, the same routes as on ``--tempo``).

A spanset query (``{ status = error }``) asks ``/tempo/api/search`` and prints the traces and
their matched spans as a table; a metrics query (``... | rate() by (...)``) asks
``/tempo/api/metrics/query_range`` and prints a small chart per series; ``--explain`` asks
Spanhouse's own ``/api/v1/traceql/explain`` for the SQL; ``--json`` prints the server's JSON
as is (Tempo's shapes, so scripts written for Tempo read it).

The query is parsed here first when the parser is importable, so a typo fails at once with its
line and column (exit 2) and the parse decides search or metrics; the server parses it again
and is the authority. The Tempo API answers a bad query with a 400 and a plain-text message
(Tempo's style): that becomes an ``InvalidInput`` (exit 2) carrying that message.
"""

from __future__ import annotations

import math

import click
import httpx

from spanhouse.cli.client import (UnexpectedAnswer, error_for_status, get_raw, json_body,
                                  server_url)
from spanhouse.cli.command import Command
from spanhouse.cli.options import api_options, limit_option, window_options
from spanhouse.cli.render import print_json
from spanhouse.cli.render_traceql import MIN_MAX_NOTE, SAMPLING_NOTE, print_metrics, print_search
from spanhouse.errors import InvalidInput
from spanhouse.timeparse import parse_duration, resolve_window

from spanhouse.query.traceql.parser import parse

TEMPO = "/tempo"                     # where the server mounts Tempo's API on the UI port
# What the Tempo API says of its metrics values (spanhouse/api/tempo/shapes.py)
SAMPLING_AWARE_HEADER, ESTIMATE_HEADER = "X-Spanhouse-Sampling-Aware", "X-Spanhouse-Estimate"
EXPLAIN = "/api/v1/traceql/explain"
# Functions whose values are the measured field's (seconds for a duration), not counts.
MEASURING = ("min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
             "quantile_over_time")
DURATION_FIELDS = ("duration", "span:duration", "traceDuration", "trace:duration",
                   "event:timeSinceStart")


def metrics_function(text: str) -> tuple[str, bool] | None:
    """(the metrics function, whether its values are durations in seconds) of a metrics query;
    None for a spanset query. Raises ``InvalidInput`` (with line and column) when the query
    does not parse: nothing is sent then."""
    metrics = parse(text).metrics
    if metrics is None:
        return None
    name = getattr(metrics.attribute, "name", None)
    return metrics.fn, metrics.fn in MEASURING and name in DURATION_FIELDS


def get_json(server: str | None, path: str, params: list[tuple[str, str]]) -> dict:
    """GET ``path`` of the server and return its JSON object (see ``get``)."""
    return get(server, path, params)[0]


def get(server: str | None, path: str, params: list[tuple[str, str]]) -> tuple[dict, httpx.Headers]:
    """GET ``path`` of the server: (its JSON object, the response headers), or raise a typed
    error: the Tempo API's plain-text 400 (and ``/api/v1``'s JSON error) as the class its
    status stands for, carrying the server's message in one line."""
    base = server_url(server)
    response = get_raw(server, path, params)
    body = json_body(response)
    if response.status_code == 200 and isinstance(body, dict):
        return body, response.headers
    if response.status_code == 404 and path.startswith(TEMPO):
        raise UnexpectedAnswer(f"the server at {base} has no Tempo API under {TEMPO} "
                               "(is it a Spanhouse server with TraceQL?)")
    message = _error_message(body, response.text)
    if message and response.status_code != 500:
        raise error_for_status(response.status_code)(message)
    raise UnexpectedAnswer(f"unexpected answer from {base}{path} (HTTP {response.status_code})")


def _error_message(body: object, text: str) -> str:
    """The server's message in one line: ``/api/v1``'s ``{"error": {"message"}}`` or the
    Tempo API's plain text (its first line, at most 300 characters)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""


def register(group: click.Group) -> None:
    """Add ``q`` to ``group`` (the ``spanhouse`` command)."""
    group.add_command(q)


@click.command("q", cls=Command)
@click.argument("query", metavar="TRACEQL")
@window_options
@limit_option
@click.option("--spss", type=click.IntRange(1, 1000), metavar="N",
              help="At most N matched spans shown per spanset.  [default: 3]")
@click.option("--step", metavar="DURATION",
              help="Metrics queries: the time between samples, e.g. 30s, 1m.  [default: Tempo's, "
                   "the window / 240 (15s for an hour)]")
@click.option("--explain", is_flag=True, help="Print the SQL the query runs; run nothing.")
@api_options
def q(query, since, start, end, limit, spss, step, explain, server, as_json) -> None:
    """Run a TraceQL query (Grafana Tempo's language).

    A spanset query prints the matching traces with their matched spans; a metrics query
    (| rate(), count_over_time(), quantile_over_time(duration, .9), ...) prints a chart per
    series, estimated from the sampled spans (each weighted by its AdjustedCount).

    \b
    Examples:
      spanhouse q '{ resource.service.name = "checkout" && status = error }'
      spanhouse q '{ status = error } | rate() by (resource.service.name)' --step 1m
    """
    if not query.strip():
        raise InvalidInput("q: the TraceQL query is empty (e.g. '{ status = error }')")
    lo, hi = resolve_window(since, start, end)
    step_ns = parse_duration(step, "--step") if step is not None else None
    if step_ns == 0:
        raise InvalidInput("--step must be longer than 0, e.g. 1m")
    metrics = metrics_function(query)
    # Tempo's start/end are Unix seconds; widen to whole seconds so the window is kept.
    params = [("q", query), ("start", str(lo // 10**9)), ("end", str(math.ceil(hi / 10**9)))]
    if metrics is None and step is not None:
        raise InvalidInput("--step applies to metrics queries (| rate() ...) only")
    if explain:
        return _explain(server, params + ([("step", step)] if step is not None else []), as_json)
    if metrics is None:
        params += [(k, str(v)) for k, v in (("limit", limit), ("spss", spss)) if v is not None]
        body = get_json(server, f"{TEMPO}/api/search", params)
        return print_json(body) if as_json else print_search(body, query)
    if limit is not None or spss is not None:
        raise InvalidInput("--limit and --spss apply to spanset queries, not metrics queries")
    if step is not None:
        params.append(("step", step))
    body, headers = get(server, f"{TEMPO}/api/metrics/query_range", params)
    if as_json:
        return print_json(body)
    fn, seconds = metrics
    print_metrics(body, query, lo, hi, seconds=seconds, note=_note(fn, headers), step_ns=step_ns)


def _note(fn: str, headers: httpx.Headers) -> str | None:
    """What the values are. The body is Tempo's to the letter (Grafana reads it strictly), so
    Spanhouse says whether they are weighted by AdjustedCount in a header; another
    Tempo-compatible server says nothing, and neither do we then."""
    if fn in ("min_over_time", "max_over_time"):
        return MIN_MAX_NOTE
    aware = headers.get(SAMPLING_AWARE_HEADER)
    if aware == "true":
        return SAMPLING_NOTE
    if aware == "false":
        said = headers.get(ESTIMATE_HEADER) or "stored spans, not corrected for sampling"
        return said[:1].upper() + said[1:] + "."
    return None


def _explain(server, params: list[tuple[str, str]], as_json: bool) -> None:
    """``--explain``: the SQL statements, one after another (``{name:Type}`` are the bound
    parameters); ``--json`` prints the server's answer."""
    body = get_json(server, EXPLAIN, params)
    if as_json:
        return print_json(body)
    # /api/v1 answers in its envelope ({"data": {"sql": [...]}, "query": ...}); accept bare too
    data = body.get("data", body) if isinstance(body.get("data", body), dict) else body
    statements = data.get("sql")
    if not isinstance(statements, list):
        raise UnexpectedAnswer("unexpected answer from the explain endpoint (no \"sql\" list)")
    for i, statement in enumerate(statements):
        if i:
            click.echo()
        click.echo(f"-- statement {i + 1} of {len(statements)}")
        click.echo(str(statement).strip())
