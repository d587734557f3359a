"""The OTTL functions a condition may call: ``IsMatch`` only (upstream
``pkg/ottl/ottlfuncs/func_is_match.go``). Every other function, converter or editor is refused
by the parser, naming this list."""

from __future__ import annotations

import re

from spanhouse.ottl.context import BoolExpr, Ctx, Getter
from spanhouse.ottl.errors import OTTLUnsupported
from spanhouse.goregex import go_regex
from spanhouse.ottl.values import string_like

FUNCTIONS = ("IsMatch",)


def is_match(target: Getter, pattern_text: str) -> BoolExpr:
    """``IsMatch(target, "pattern")``: the pattern (a string literal, compiled once) found
    anywhere in the target's text (Go's ``MatchString`` is not anchored); nil never matches."""
    try:
        pattern = re.compile(go_regex(pattern_text))
    except re.error as exc:
        raise OTTLUnsupported(f"IsMatch: invalid regex {pattern_text!r}: {exc}") from None

    def matches(ctx: Ctx) -> bool:
        text = string_like(target(ctx))
        return text is not None and pattern.search(text) is not None

    return matches
