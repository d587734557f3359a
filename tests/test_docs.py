"""The docs stay in step with the code."""

from pathlib import Path

from scripts.cli_reference import render

REPO = Path(__file__).resolve().parent.parent


def test_cli_reference_is_generated_from_help():
    current = (REPO / "docs" / "cli.md").read_text()
    assert current == render(), "docs/cli.md is stale: run .venv/bin/python scripts/cli_reference.py > docs/cli.md"


def test_readme_quick_start_is_the_two_commands():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
