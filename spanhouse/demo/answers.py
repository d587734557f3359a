"""The demo's answers, asked of the running server's ``/api/v1`` with the CLI's client and
printed with the CLI's own renderers: the slowest traces, errors by service, one user's request
found by ``user.id`` at a time, the bottleneck of the slowest product page (drawn as the seed
draws it) and the trace doctor's findings. A failed answer is reported (the CLI's one line on
stderr) and skipped."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import httpx

from spanhouse.cli.bottleneck import trace_lines
from spanhouse.cli.client import fetch
from spanhouse.cli.command import report
from spanhouse.cli.doctor import print_report
from spanhouse.cli.render import local_time, print_errors, print_summaries, span_of
from spanhouse.demo.traffic import Visit
from spanhouse.errors import SpanhouseError


@dataclass(frozen=True)
class Found:
    visit: Visit
    trace_ids: list[str]


def section(console, title: str) -> None:
    console.print()
    console.rule(f"[bold]{title}[/bold]", align="left")


def _ask(server: str, path: str, params: list[tuple[str, str]]) -> dict | None:
    """The API's answer, or None when it failed (reported as the CLI reports it)."""
    try:
        return fetch(server, path, params)
    except SpanhouseError as exc:
        report(exc)
        return None


def slowest(console, server: str, since: str) -> list[dict]:
    section(console, "1. The slowest traces of the run")
    console.print(f"[dim]$ spanhouse slowest --since {since}[/dim]")
    answer = _ask(server, "/api/v1/slowest", [("since", since), ("limit", "8")])
    if answer is None:
        return []
    print_summaries(answer["data"], f"Slowest traces, {span_of(answer['query'])}",
                    f"No traces {span_of(answer['query'])}.")
    return answer["data"]


def errors(console, server: str, since: str) -> list[dict]:
    section(console, "2. Traces with errors, grouped by service")
    console.print(f"[dim]$ spanhouse errors --since {since}[/dim]")
    answer = _ask(server, "/api/v1/errors", [("since", since)])
    if answer is None:
        return []
    print_errors(answer["data"], answer["query"])
    origins = [row["service"] for row in answer["data"] if row["role"] in ("origin", "both")]
    if origins:
        console.print(f"Errors start in: [bold red]{', '.join(origins)}[/bold red] "
                      "(ROLE origin); the others only pass them on.")
    return answer["data"]


def _local_hms(unix_s: float) -> str:
    return _dt.datetime.fromtimestamp(unix_s).astimezone().strftime("%H:%M:%S")


def find_user(console, server: str, candidates: list[Visit]) -> Found | None:
    section(console, "3. One user's request, found by user.id at a time")
    for visit in candidates[:5]:
        at = _dt.datetime.fromtimestamp(visit.at, _dt.timezone.utc).isoformat()
        answer = _ask(server, "/api/v1/find", [("key", "user.id"), ("value", visit.user_id),
                                                 ("at", at), ("window", "1m")])
        if answer is None or not answer["data"]:
            continue
        what = ("checkout failed" if visit.endpoint == "POST /checkout" and visit.status >= 400
                else f"{visit.endpoint} answered {visit.status}")
        console.print(f'{visit.user_id} reports: "my {what} at {_local_hms(visit.at)}"',
                      markup=False)
        console.print(f"[dim]$ spanhouse find user.id={visit.user_id} --at "
                      f"{_local_hms(visit.at)} --window 1m[/dim]")
        query = answer["query"]
        print_summaries(
            answer["data"],
            f"Traces with user.id={visit.user_id} within 1m of {local_time(query['at'])}",
            "No traces.")
        return Found(visit, [row["trace_id"] for row in answer["data"]])
    console.print("No remembered request of a user was kept by the sampler yet.")
    return None


def bottleneck(console, server: str, since: str) -> dict | None:
    section(console, "4. The slowest product page: this is your bottleneck")
    answer = _ask(server, "/api/v1/slowest", [("since", since), ("service", "api-gateway"),
                                                 ("operation", "GET /products"), ("limit", "1")])
    if not answer or not answer["data"]:
        console.print("No product page request was kept by the sampler yet.")
        return None
    trace_id = answer["data"][0]["trace_id"]
    console.print(f"[dim]$ spanhouse bottleneck {trace_id}[/dim]")
    result = _ask(server, f"/api/v1/bottleneck/{trace_id}", [])
    if result is None:
        return None
    data = result["data"]
    for line in trace_lines(data):
        console.print(line, markup=False, highlight=False)
    return data


def doctor_supports_settle(server: str) -> bool:
    """Whether ``/api/v1/doctor`` takes ``settle`` (how long recent spans are spared the
    missing-relative checks); without it, calls younger than the server's settle time (two
    minutes) are not judged yet."""
    try:
        spec = httpx.get(server.rstrip("/") + "/openapi.json", timeout=10).json()
        parameters = spec["paths"]["/api/v1/doctor"]["get"].get("parameters", [])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False
    return any(isinstance(p, dict) and p.get("name") == "settle" for p in parameters)


def doctor(console, server: str, since: str, settle: str | None, again: bool = False) -> dict | None:
    section(console, "The trace doctor again, now that the first calls are two minutes old"
            if again else "5. The trace doctor: what is wrong with the traces themselves")
    params = [("since", since)]
    if settle is not None:
        params.append(("settle", settle))
    console.print(f"[dim]$ spanhouse doctor --since {since}[/dim]")
    answer = _ask(server, "/api/v1/doctor", params)
    if answer is None:
        return None
    print_report(answer["data"], answer["query"])
    if settle is None and not again:
        console.print("[dim]The doctor judges a call's missing child only once the call is two "
                      "minutes old; broken calls of this run show up then (the demo asks "
                      "again).[/dim]")
    return answer["data"]
