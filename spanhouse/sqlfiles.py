"""The one loader of the SQL that ships as package data (``<package>/sql/*.sql``).

SQL lives in ``.sql`` files beside the code that runs it (``spanhouse/store/sql``,
``spanhouse/query/sql``, ``spanhouse/analysis/sql``), read with ``importlib.resources`` so it
works from a wheel. Values never go into the text: every value is a bound parameter; only
identifiers and fixed fragments are substituted (``render``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from string import Template


@lru_cache(maxsize=None)
def read_sql(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>`` as written (DDL keeps its comments)."""
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load_sql(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>`` with its ``--`` comment lines removed."""
    return "\n".join(line for line in read_sql(package, name).splitlines()
                     if not line.lstrip().startswith("--"))


def render(package: str, name: str, **fragments: str) -> str:
    """``load_sql`` with its ``${...}`` placeholders replaced (every one must be given)."""
    return Template(load_sql(package, name)).substitute(**fragments)
