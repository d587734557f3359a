"""What a doctor check is: a function from the window (``Context``) and the report's shared
queries (``Facts``) to a ``Finding``, or None when the data shows no such mistake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.report import Finding


@dataclass(frozen=True)
class Check:
    code: str                                 # the code of its findings
    run: Callable[[Context, Facts], Finding | None]
    # A check of relations between spans: it is given ``facts.relations`` (the window, or a
    # slice of a big one), and its finding says when it was found on a slice.
    relations: bool = False
