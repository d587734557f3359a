"""The options the client commands share, and the query parameters they become.

Times given as ``HH:MM`` or ``10m ago`` are resolved here, in the client's local time, and sent
as RFC 3339; durations are checked here, so a bad flag fails (``InvalidInput``: exit 2) before
any request.
"""

from __future__ import annotations

import click

from spanhouse.cli.client import CREDENTIALS, DEFAULT_SERVER
from spanhouse.errors import InvalidInput
from spanhouse.model.ids import normalize_trace_id
from spanhouse.query.model import MAX_LIMIT, rfc3339
from spanhouse.timeparse import parse_duration, resolve_window


def _credential(ctx: click.Context, param: click.Parameter, value):
    """Keep ``--token``/``--user``/``--ca-file`` for ``client.fetch`` (never printed)."""
    if value is not None:
        ctx.meta.setdefault(CREDENTIALS, {})[param.name] = value
    return value


def api_options(command):
    """``--server`` (or ``SPANHOUSE_SERVER``), the credentials and ``--json``: every client
    command has them."""
    command = click.option("--json", "as_json", is_flag=True,
                           help="Print the API's data as JSON (stable; see docs/api.md).")(command)
    command = click.option("--ca-file", metavar="FILE", envvar="SPANHOUSE_CA_FILE",
                           expose_value=False, callback=_credential,
                           help="CA certificate of an https:// server (and a client certificate "
                                "is not sent).  [env: SPANHOUSE_CA_FILE]")(command)
    command = click.option("--user", metavar="NAME", envvar="SPANHOUSE_USER",
                           expose_value=False, callback=_credential,
                           help="Basic authentication user; the password is read from "
                                "SPANHOUSE_PASSWORD.  [env: SPANHOUSE_USER]")(command)
    command = click.option("--token", metavar="TOKEN", envvar="SPANHOUSE_TOKEN",
                           expose_value=False, callback=_credential,
                           help="Bearer token of a server with bearertokenauth (prefer the "
                                "environment variable: a flag shows in ps).  "
                                "[env: SPANHOUSE_TOKEN]")(command)
    command = click.option("--server", metavar="URL", envvar="SPANHOUSE_SERVER",
                           help="The Spanhouse server.  [env: SPANHOUSE_SERVER; default: "
                                f"{DEFAULT_SERVER}]")(command)
    return command


def window_options(command):
    """``--since`` or ``--start``/``--end``: the time window (see ``window_params``)."""
    command = click.option("--end", metavar="TIME", help="End of the window.  [default: now]")(command)
    command = click.option("--start", metavar="TIME",
                           help="Start of the window, instead of --since: 2026-11-24T10:31:00Z, "
                                "10:31 (today, local time), '2h ago'.")(command)
    command = click.option("--since", metavar="DURATION",
                           help="Look back this far, e.g. 15m, 1h, 24h.  [default: 1h]")(command)
    return command


limit_option = click.option("--limit", type=click.IntRange(1, MAX_LIMIT), metavar="N",
                            help="At most N traces.  [default: 20]")
service_option = click.option("--service", metavar="NAME",
                              help="Only traces with a span of this service.")
operation_option = click.option("--operation", metavar="NAME",
                                help="Only traces with a span of this name.")
attr_option = click.option("--attr", multiple=True, metavar="K=V",
                           help="Attribute filter, repeatable: key=value, key (present) or "
                                "key~regex.")


def window_params(since: str | None, start: str | None, end: str | None) -> list[tuple[str, str]]:
    """``--since`` goes as is; ``--start``/``--end`` are resolved here (local time) to RFC 3339."""
    if since is not None and start is not None:
        raise InvalidInput("give either --since or --start/--end, not both")
    if start is None and end is None:
        if since is None:
            return []
        parse_duration(since, "--since")
        return [("since", since)]
    lo, hi = resolve_window(since, start, end)
    return ([("start", rfc3339(lo))] if start is not None else [("since", since or "1h")]) + \
        [("end", rfc3339(hi))]


def add_param(params: list[tuple[str, str]], name: str, value) -> None:
    """Append ``(name, value)`` to ``params`` when the option was given."""
    if value is not None:
        params.append((name, str(value)))


def checked_trace_id(text: str, command: str) -> str:
    """A trace id as typed (1 to 32 hex digits, any case) -> the stored form, for ``command``."""
    normalized = normalize_trace_id(text)
    if normalized is None:
        raise InvalidInput(f"{command}: {text!r} is not a trace id (up to 32 hexadecimal digits)")
    return normalized
