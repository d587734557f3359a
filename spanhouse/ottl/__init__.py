"""The OpenTelemetry Transformation Language (OTTL): the subset Spanhouse evaluates.

Upstream defines the language in ``pkg/ottl`` of opentelemetry-collector-contrib
(``LANGUAGE.md``; grammar in ``grammar.go``, ``compare.go``, ``math.go``; the span contexts in
``contexts/ottlspan`` and ``contexts/ottlspanevent``; functions in ``ottlfuncs``). Spanhouse
parses OTTL itself and supports the subset described in ``docs/ottl.md``:

- *conditions* only (no statements, no editors), in the ``span`` and ``spanevent`` contexts;
- paths of the span, its event, its resource and its scope (``paths``), attributes typed;
- string, int, float, bool and nil literals, the ``SPAN_KIND_*``/``STATUS_CODE_*`` enums;
- comparisons with OTTL's rules, ``and``/``or``/``not``, parentheses, ``+ - * /``;
- one function, ``IsMatch``.

Anything outside it is refused when the condition is compiled (``OTTLUnsupported`` naming the
construct; the config loader turns it into a ``ConfigError`` at the condition's key), never
silently evaluated as false. A compiled condition is a function of a ``Ctx`` (a span or span
event inside a ``SpanBatch``); an evaluation error on one span is ``OTTLRuntimeError``.

Modules: ``tokens`` (tokenizer) -> ``parser`` (grammar, compiles to closures) over ``paths``,
``enums``, ``functions`` (regular expressions: ``spanhouse.goregex``), ``values``, ``comparisons``, ``arithmetic``;
``context`` is what a condition runs on, ``errors`` the two ways it fails.
"""

from spanhouse.ottl.comparisons import compare
from spanhouse.ottl.context import BoolExpr, Ctx
from spanhouse.ottl.errors import OTTLRuntimeError, OTTLUnsupported
from spanhouse.ottl.parser import compile_condition

__all__ = ["BoolExpr", "Ctx", "OTTLRuntimeError", "OTTLUnsupported", "compare", "compile_condition"]
