"""Typed, validated access to one mapping of a collector config (a component's settings).

Every component reads its settings through a ``Section`` so that every mistake is reported
the same way: a ``ConfigError`` carrying the full dotted key (its document turns it into
``FILE:LINE: KEY: problem; fix``), with a "did you mean" for misspelled field names, as the
collector's own config unmarshalling refuses unknown fields.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from spanhouse.errors import ConfigError
from spanhouse.gotime import DurationError, parse_duration

_MISSING = object()


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for the closest known name, or an empty string."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close and len(name) >= 3:  # an abbreviation: "tail" for "tail_sampling"
        close = [k for k in known if k.startswith(name)][:1]
    return f' (did you mean "{close[0]}"?)' if close else ""


class Section:
    """A config mapping at dotted path ``key`` (``None`` or missing reads as empty)."""

    def __init__(self, data: Any, key: str):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"expected a mapping of settings, got {_describe(data)}", key)
        self.data = data
        self.key = key

    # ------------------------------------------------------------------ structure
    def key_of(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else str(name)

    def allow(self, *names: str) -> "Section":
        """Refuse any field not in ``names``, suggesting the closest one."""
        for name in self.data:
            if name not in names:
                known = ", ".join(sorted(names)) or "none"
                raise ConfigError(
                    f"unknown field{suggest(str(name), names)}; the fields here are: {known}",
                    self.key_of(str(name)))
        return self

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def section(self, name: str) -> "Section":
        return Section(self.data.get(name), self.key_of(name))

    def sections(self, name: str) -> list["Section"]:
        """A list of mappings, e.g. ``policies``; each a Section keyed ``name[i]``."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, got {_describe(value)}", self.key_of(name))
        return [Section(item, f"{self.key_of(name)}[{i}]") for i, item in enumerate(value)]

    def error(self, name: str | None, message: str) -> ConfigError:
        return ConfigError(message, self.key_of(name) if name else self.key)

    # ------------------------------------------------------------------ typed values
    def required(self, name: str) -> Any:
        if name not in self.data or self.data[name] is None:
            raise ConfigError("is required", self.key_of(name))
        return self.data[name]

    def string(self, name: str, default: Any = _MISSING, choices: Iterable[str] | None = None) -> str:
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {_describe(value)}", self.key_of(name))
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                raise ConfigError(
                    f"{value!r} is not one of {', '.join(choices)}{suggest(value, choices)}",
                    self.key_of(name))
        return value

    def strings(self, name: str, default: Any = _MISSING) -> list[str]:
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"expected a list of strings, got {_describe(value)}", self.key_of(name))
        return value

    def integer(self, name: str, default: Any = _MISSING, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected a whole number, got {_describe(value)}", self.key_of(name))
        self._range(name, value, minimum, maximum)
        return value

    def number(self, name: str, default: Any = _MISSING, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {_describe(value)}", self.key_of(name))
        self._range(name, value, minimum, maximum)
        return float(value)

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {_describe(value)}", self.key_of(name))
        return value

    def duration(self, name: str, default: Any = _MISSING, minimum: float | None = None) -> float:
        """A Go duration string (``30s``, ``1m30s``, ``250ms``, ``.5s``) in seconds, read with
        Go's own grammar (``spanhouse.gotime``); never negative."""
        value = self._value(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, str):
            raise ConfigError(f"expected a duration such as 30s or 250ms, got {_describe(value)}",
                              self.key_of(name))
        try:
            seconds = parse_duration(value.strip())
        except DurationError:
            seconds = None
        if seconds is None or seconds < 0:
            raise ConfigError(f"{value!r} is not a duration like 72h, 30s or 250ms",
                              self.key_of(name))
        self._range(name, seconds, minimum, None)
        return seconds

    # ------------------------------------------------------------------ internals
    def _value(self, name: str, default: Any) -> Any:
        if name in self.data and self.data[name] is not None:
            return self.data[name]
        if default is _MISSING:
            raise ConfigError("is required", self.key_of(name))
        return default

    def _range(self, name: str, value, minimum, maximum) -> None:
        if minimum is not None and value < minimum:
            raise ConfigError(f"{value} is below the minimum {minimum}", self.key_of(name))
        if maximum is not None and value > maximum:
            raise ConfigError(f"{value} is above the maximum {maximum}", self.key_of(name))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return f"{type(value).__name__} {value!r}"
