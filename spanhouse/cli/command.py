"""The CLI's one error boundary: a typed error (``spanhouse.errors``) becomes one line on stderr,
``spanhouse: <message>``, and the exit code of ``spanhouse.errors.translate`` (2 for bad input
or configuration, 1 for a failure at run time); never a traceback.

Every ``spanhouse`` command is a ``Command`` (``Group`` makes its sub-commands ones), so the
commands themselves just raise: a bad flag, the API's 400, an unreachable server alike.
"""

from __future__ import annotations

from typing import NoReturn

import click

from spanhouse.errors import SpanhouseError, translate


def report(exc: BaseException, line: str | None = None) -> None:
    """Print the one line of a failure on stderr: ``line``, else ``spanhouse: <exc>``."""
    click.echo(f"spanhouse: {exc}" if line is None else line, err=True)


def fail(exc: BaseException, line: str | None = None) -> NoReturn:
    """Report ``exc`` (as ``report``) and end the command with its exit code."""
    report(exc, line)
    raise click.exceptions.Exit(translate(exc).exit_code)


class Command(click.Command):
    """A click command whose typed errors end it as ``fail`` does."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpanhouseError as exc:
            fail(exc)


class Group(click.Group):
    """A click group whose commands are ``Command``s and whose sub-groups are ``Group``s."""

    command_class = Command
    group_class = type  # click: "the same class as this group"
