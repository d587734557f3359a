"""The doctor's checks, one module each, and the order they run and report in.

Each module ``checks/<code>.py`` holds one check: its docstring says what mistake it flags and
why that matters, and it ends with ``CHECK = Check("<code>", <function>)`` (see
``spanhouse.analysis.doctor.check``). To add a check, write such a module and add its name to
``NAMES``; findings are sorted by severity, in this order within one severity.
"""

from __future__ import annotations

from importlib import import_module

from spanhouse.analysis.doctor.check import Check

NAMES = (
    "context_not_propagated",
    "async_hop_unlinked",
    "no_business_context",
    "over_sampling",
    "under_sampling",
    "errors_sampled_away",
    "clock_skew",
    "bad_duration",
    "huge_traces",
    "high_cardinality_span_names",
)

CHECKS: tuple[Check, ...] = tuple(import_module(f"{__name__}.{name}").CHECK for name in NAMES)
