"""The doctor's checks are one module each in ``spanhouse/analysis/doctor/checks/``, all of
them listed in ``checks.NAMES`` (adding a check = a module and a line), each documented."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from spanhouse.analysis.doctor import checks
from spanhouse.analysis.doctor.check import Check

FOLDER = Path(checks.__file__).parent


def test_every_check_module_is_listed_once():
    modules = sorted(p.stem for p in FOLDER.glob("*.py") if p.stem != "__init__")
    assert sorted(checks.NAMES) == modules
    assert len(set(checks.NAMES)) == len(checks.NAMES)


def test_each_module_holds_one_documented_check_named_after_it():
    for name, check in zip(checks.NAMES, checks.CHECKS):
        module = import_module(f"{checks.__name__}.{name}")
        assert isinstance(check, Check) and check is module.CHECK
        assert check.code == name
        assert module.__doc__ and module.__doc__.startswith(f"``{name}``"), name
        assert "Why it matters" in module.__doc__, name
