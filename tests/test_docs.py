"""The docs stay in step with the code."""

import re
from pathlib import Path

import pytest

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


def _yaml_configs() -> list[tuple[str, str]]:
    """Every ```yaml block of README.md and docs/*.md that is a whole config (has service:)."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            if "\nservice:" in "\n" + block:
                found.append((path.name, block))
    return found


@pytest.mark.parametrize("name,block", _yaml_configs())
def test_config_examples_in_the_docs_are_valid(tmp_path, name, block):
    from spanhouse.config.check import check_config

    path = tmp_path / "example.yaml"
    path.write_text(block)
    assert "valid" in check_config(str(path))


def test_the_docs_have_config_examples():
    assert any(name == "README.md" for name, _ in _yaml_configs())
