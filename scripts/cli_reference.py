"""Regenerate docs/cli.md from the CLI's own ``--help`` (tests/test_docs.py checks it is current).

    .venv/bin/python scripts/cli_reference.py > docs/cli.md
"""

from __future__ import annotations

import click

from spanhouse.cli import main as cli


def render() -> str:
    parts = ["# CLI reference", "",
             "Generated from `spanhouse --help` by `scripts/cli_reference.py`; do not edit by hand.", ""]

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        # Click caches each command's help option from the first context it saw (a test's
        # CliRunner may have built one without the group's settings): rebuild it here.
        if hasattr(command, "_help_option"):
            command._help_option = None
        # make_context applies the group's context_settings (e.g. -h as well as --help),
        # as the real command line does.
        ctx = command.make_context(path[-1], [], parent=parent, resilient_parsing=True,
                                   terminal_width=100, max_content_width=100)
        parts.extend([f"## `{' '.join(path)}`", "", "```", command.get_help(ctx), "```", ""])
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), path + [name], ctx)

    walk(cli, ["spanhouse"], None)
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
