"""The query parameters of one request, as every query API reads them.

The model is Go's ``url.Values`` (Jaeger's APIs are ports of Go code): ``get`` is the *first*
value of a name (Go's ``FormValue``; Starlette's ``QueryParams.get`` returns the last), and an
empty value is the same as an absent one (None) in every API. ``/api/v1`` is strict about names
(``check_names``): an unknown parameter, or a second value of a single-valued one, is a 400 that
names it, so a typo never silently widens a query. Jaeger's APIs ignore unknown names, as Jaeger
does.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl

from spanhouse.errors import InvalidInput


class Params:
    """Query parameters: from a query string, a Starlette ``QueryParams``, a mapping (of values
    or lists of values), another ``Params`` or ``(name, value)`` pairs."""

    def __init__(self, source: Any = ()):
        self._values: dict[str, list[str]] = {}
        for name, value in _pairs(source):
            self._values.setdefault(name, []).append(value)

    def get(self, name: str) -> str | None:
        """The first value of ``name``; None when absent or empty."""
        values = self._values.get(name)
        return values[0] if values and values[0] != "" else None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order, empty ones included (``[]`` when absent)."""
        return list(self._values.get(name, ()))

    def items(self) -> Iterable[tuple[str, str]]:
        return ((name, value) for name, values in self._values.items() for value in values)

    def check_names(self, accepted: Iterable[str],
                    repeatable: frozenset[str] = frozenset()) -> Params:
        """``self``, when every name is in ``accepted`` and only ``repeatable`` ones are given
        more than once; else ``InvalidInput`` naming the offenders and the accepted names."""
        accepted = tuple(accepted)
        unknown = sorted(name for name in self._values if name not in accepted)
        if unknown:
            names = ", ".join(repr(name[:64]) for name in unknown[:10])
            allowed = ", ".join(accepted) if accepted else "none"
            raise InvalidInput(f"unknown parameter{'s' if len(unknown) > 1 else ''} {names} "
                               f"(accepted: {allowed})")
        for name, values in self._values.items():
            if len(values) > 1 and name not in repeatable:
                raise InvalidInput(f"{name}: given {len(values)} times; give it once")
        return self


def _pairs(source: Any) -> Iterable[tuple[str, str]]:
    if isinstance(source, str):
        return parse_qsl(source.lstrip("?"), keep_blank_values=True)
    if isinstance(source, Params):
        return source.items()
    if hasattr(source, "multi_items"):          # starlette QueryParams / MultiDict
        return source.multi_items()
    if isinstance(source, Mapping):
        return [(name, value) for name, values in source.items()
                for value in (values if isinstance(values, (list, tuple)) else [values])]
    return source
