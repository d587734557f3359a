"""``ottl_condition``: a documented subset of the OpenTelemetry Transformation Language.

Upstream (``internal/sampling/ottl.go``) compiles ``span`` conditions in the ``ottlspan``
context and ``spanevent`` conditions in the ``ottlspanevent`` context; a trace is sampled by
the first span for which any span condition is true, or by the first event of that span for
which any span-event condition is true. ``error_mode`` (``propagate`` by default, ``ignore``,
``silent``) decides what an evaluation error does: ``propagate`` makes the policy fail (an
``Error`` decision), ``ignore``/``silent`` count the condition as false and go on.

Spanhouse parses OTTL itself and supports the subset described in ``docs/ottl.md``; anything
outside it is refused when the config is loaded (a ``ConfigError`` naming the key and the
construct), never silently evaluated as false.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import orjson

from spanhouse.errors import ConfigError
from spanhouse.model.attributes import ARRAY, BOOL, BYTES, DOUBLE, EMPTY, INT, KVLIST, STRING
from spanhouse.model.batch import AttrColumns, SpanBatch
from spanhouse.processors.tail_sampling.decision import Decision, Verdict
from spanhouse.processors.tail_sampling.policies.base import PolicyError, go_regex
from spanhouse.processors.tail_sampling.trace import TraceView, lookup

log = logging.getLogger(__name__)

ERROR_MODES = ("propagate", "ignore", "silent")

ENUMS = {
    "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
    "STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
}
FUNCTIONS = ("IsMatch",)
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")

# (batch, span row, event index or -1)
Ctx = tuple[SpanBatch, int, int]
Getter = Callable[[Ctx], Any]
BoolExpr = Callable[[Ctx], bool]


class OTTLRuntimeError(Exception):
    """An OTTL expression failed on a given span (e.g. arithmetic on a string)."""


class OTTLUnsupported(Exception):
    """A condition uses something outside the supported subset (or is not valid OTTL)."""


# ------------------------------------------------------------------ values
def typed_value(found: tuple[str, int] | None) -> Any:
    """An attribute as OTTL sees it: str, int, float, bool, bytes, list, dict, or None."""
    if found is None:
        return None
    text, code = found
    if code == STRING:
        return text
    if code == INT:
        return int(text)
    if code == DOUBLE:
        return float(text)
    if code == BOOL:
        return text == "true"
    if code == BYTES:
        return base64.b64decode(text)
    if code in (ARRAY, KVLIST):
        return orjson.loads(text)
    if code == EMPTY:
        return None
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    return "other"


def _ordered(a, b, op: str) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def compare(a: Any, b: Any, op: str) -> bool:
    """OTTL's ``compare``: nil equals only nil; numbers compare across int/float; strings and
    bytes lexically; bools by ==/!= (and false < true); values of different types are only
    ``!=``; anything else is false."""
    ka, kb = _kind(a), _kind(b)
    if ka == "nil" or kb == "nil":
        if ka == kb:                          # nil vs nil
            return op in ("==", "<=", ">=")
        return op == "!="
    if ka in ("int", "float") and kb in ("int", "float"):
        if ka != kb:
            a, b = float(a), float(b)
        return _ordered(a, b, op)
    if ka != kb:
        return op == "!="
    if ka == "bool":
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return (not a) and b
        if op == "<=":
            return (not a) or b
        if op == ">":
            return a and not b
        return a or not b
    if ka in ("string", "bytes"):
        return _ordered(a, b, op)
    # lists and maps: equality only
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    return False


def _go_format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, unique=True, trim="-")


def string_like(value: Any) -> str | None:
    """OTTL's ``StringLikeGetter`` (what ``IsMatch`` matches against)."""
    kind = _kind(value)
    if kind == "nil":
        return None
    if kind == "string":
        return value
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(value)
    if kind == "float":
        return _go_format_float(value)
    if kind == "bytes":
        return value.hex()
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _math(a: Any, b: Any, op: str) -> Any:
    ka, kb = _kind(a), _kind(b)
    if ka not in ("int", "float") or kb not in ("int", "float"):
        raise OTTLRuntimeError(f"cannot compute {ka} {op} {kb}")
    if ka == "int" and kb == "int":
        if op == "+":
            return _int64(a + b)
        if op == "-":
            return _int64(a - b)
        if op == "*":
            return _int64(a * b)
        if b == 0:
            raise OTTLRuntimeError("attempted to divide by 0")
        q = abs(a) // abs(b)                      # Go truncates toward zero
        return q if (a >= 0) == (b >= 0) else -q
    a, b = float(a), float(b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise OTTLRuntimeError("attempted to divide by 0")
    return a / b


def _int64(v: int) -> int:
    return (v + 2 ** 63) % 2 ** 64 - 2 ** 63


# ------------------------------------------------------------------ paths
def _attr_getter(cols_of: Callable[[Ctx], tuple[AttrColumns, int]], key: str) -> Getter:
    def get(ctx: Ctx) -> Any:
        cols, owner = cols_of(ctx)
        return typed_value(lookup(cols, owner, key))
    return get


def _span_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    return ctx[0].attributes, ctx[1]


def _resource_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    batch = ctx[0]
    return batch.resource_attributes, batch.resource_index[ctx[1]]


def _event_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    return ctx[0].event_attributes, ctx[2]


def _col(name: str) -> Getter:
    return lambda ctx: getattr(ctx[0], name)[ctx[1]]


def _event_col(name: str) -> Getter:
    return lambda ctx: getattr(ctx[0], name)[ctx[2]]


SPAN_FIELDS: dict[str, Getter] = {
    "name": _col("name"),
    "kind": _col("kind"),
    "status.code": _col("status_code"),
    "status.message": _col("status_message"),
    "trace_state": _col("trace_state"),
    "flags": _col("flags"),
    "start_time_unix_nano": _col("start_ns"),
    "end_time_unix_nano": _col("end_ns"),
    "trace_id.string": _col("trace_id"),
    "span_id.string": _col("span_id"),
    "parent_span_id.string": _col("parent_span_id"),
    "dropped_attributes_count": _col("dropped_attributes_count"),
    "dropped_events_count": _col("dropped_events_count"),
    "dropped_links_count": _col("dropped_links_count"),
}
EVENT_FIELDS: dict[str, Getter] = {
    "name": _event_col("event_name"),
    "time_unix_nano": _event_col("event_time_ns"),
    "dropped_attributes_count": _event_col("event_dropped_attributes_count"),
}
SCOPE_FIELDS: dict[str, Getter] = {
    "instrumentation_scope.name": lambda ctx: ctx[0].scope_name[ctx[0].scope_index[ctx[1]]],
    "instrumentation_scope.version": lambda ctx: ctx[0].scope_version[ctx[0].scope_index[ctx[1]]],
}


def supported_paths(context: str) -> list[str]:
    common = ['resource.attributes["key"]', *SCOPE_FIELDS]
    if context == "span":
        return [*SPAN_FIELDS, 'attributes["key"]', *common]
    return [*EVENT_FIELDS, 'attributes["key"]',
            *(f"span.{p}" for p in SPAN_FIELDS), 'span.attributes["key"]', *common]


def resolve_path(context: str, parts: list[str], key: str | None) -> Getter:
    """A getter for a dotted path (``parts``) with an optional ``["key"]`` index."""
    dotted = ".".join(parts)
    shown = dotted + (f'["{key}"]' if key is not None else "")
    own_prefix = "span." if context == "span" else "spanevent."
    if dotted.startswith(own_prefix):              # explicit context prefix, e.g. span.name
        dotted = dotted[len(own_prefix):]
    if dotted == "resource.attributes" and key is not None:
        return _attr_getter(_resource_attrs, key)
    if dotted in SCOPE_FIELDS and key is None:
        return SCOPE_FIELDS[dotted]
    if context == "span":
        if dotted == "attributes" and key is not None:
            return _attr_getter(_span_attrs, key)
        if dotted in SPAN_FIELDS and key is None:
            return SPAN_FIELDS[dotted]
    else:
        if dotted == "attributes" and key is not None:
            return _attr_getter(_event_attrs, key)
        if dotted in EVENT_FIELDS and key is None:
            return EVENT_FIELDS[dotted]
        if dotted.startswith("span."):
            inner = dotted[len("span."):]
            if inner == "attributes" and key is not None:
                return _attr_getter(_span_attrs, key)
            if inner in SPAN_FIELDS and key is None:
                return SPAN_FIELDS[inner]
    if dotted in ("attributes", "resource.attributes", "span.attributes") and key is None:
        raise OTTLUnsupported(f'path {shown} needs a key, e.g. {dotted}["http.method"]')
    hint = ""
    if dotted == "duration":
        hint = " (write end_time_unix_nano - start_time_unix_nano, in nanoseconds)"
    raise OTTLUnsupported(
        f"path {shown} is not supported in the {context} context{hint}; "
        f"supported paths: {', '.join(supported_paths(context))}")


# ------------------------------------------------------------------ tokenizer
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<bytes>0x[0-9A-Fa-f]+)
  | (?P<float>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>\d+)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,|\.|\{|\}|:)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt in "uU":
                width = 4 if nxt == "u" else 8
                digits = body[i + 2:i + 2 + width]
                if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                    out.append(chr(int(digits, 16)))
                    i += 2 + width
                    continue
            raise OTTLUnsupported(f"invalid escape \\{nxt} in string literal {literal}")
        out.append(c)
        i += 1
    return "".join(out)


@dataclass(slots=True)
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(source: str) -> list[Tok]:
    tokens = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m:
            raise OTTLUnsupported(f"unexpected character {source[pos]!r} at offset {pos}")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Tok("end", "", len(source)))
    return tokens


# ------------------------------------------------------------------ parser
class _Value:
    """A compiled value: ``get(ctx)``, plus what it is (for the constant cases)."""

    __slots__ = ("get", "is_bool_const", "is_bool_func", "describe")

    def __init__(self, get: Getter, describe: str, is_bool_const: bool = False,
                 is_bool_func: bool = False):
        self.get = get
        self.describe = describe
        self.is_bool_const = is_bool_const
        self.is_bool_func = is_bool_func


class Parser:
    def __init__(self, source: str, context: str):
        self.source = source
        self.context = context
        self.tokens = tokenize(source)
        self.i = 0

    # helpers
    def peek(self, ahead: int = 0) -> Tok:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> Tok:
        tok = self.next()
        if tok.text != text or tok.kind in ("string",):
            raise OTTLUnsupported(f"expected {text!r} at offset {tok.pos}, found {tok.text or 'the end'!r}")
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind in ("op", "ident") and tok.text == text

    # grammar
    def parse(self) -> BoolExpr:
        expr = self.parse_or()
        tok = self.peek()
        if tok.kind != "end":
            raise OTTLUnsupported(f"unexpected {tok.text!r} at offset {tok.pos}")
        return expr

    def parse_or(self) -> BoolExpr:
        terms = [self.parse_and()]
        while self.at("or"):
            self.next()
            terms.append(self.parse_and())
        if len(terms) == 1:
            return terms[0]
        return lambda ctx: any(t(ctx) for t in terms)

    def parse_and(self) -> BoolExpr:
        terms = [self.parse_not()]
        while self.at("and"):
            self.next()
            terms.append(self.parse_not())
        if len(terms) == 1:
            return terms[0]
        return lambda ctx: all(t(ctx) for t in terms)

    def parse_not(self) -> BoolExpr:
        if self.at("not"):
            self.next()
            inner = self.parse_bool_term()
            return lambda ctx: not inner(ctx)
        return self.parse_bool_term()

    def parse_bool_term(self) -> BoolExpr:
        if self.at("("):
            saved = self.i
            try:
                self.next()
                inner = self.parse_or()
                self.expect(")")
                nxt = self.peek()
                if not (nxt.kind == "op" and nxt.text in (*COMPARISONS, "+", "-", "*", "/")):
                    return inner
            except OTTLUnsupported:
                pass
            self.i = saved                      # not a boolean group: a math group in a comparison
        left = self.parse_math()
        tok = self.peek()
        if tok.kind == "op" and tok.text in COMPARISONS:
            op = self.next().text
            right = self.parse_math()
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in COMPARISONS:
                raise OTTLUnsupported(f"chained comparison at offset {nxt.pos}; use and")
            lg, rg = left.get, right.get
            return lambda ctx: compare(lg(ctx), rg(ctx), op)
        if left.is_bool_const or left.is_bool_func:
            get = left.get
            return lambda ctx: bool(get(ctx))
        raise OTTLUnsupported(
            f"{left.describe} is not a condition; compare it (==, !=, <, <=, >, >=)")

    def parse_math(self) -> _Value:
        left = self.parse_product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.next().text
            right = self.parse_product()
            left = self._binary(left, right, op)
        return left

    def parse_product(self) -> _Value:
        left = self.parse_primary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.next().text
            right = self.parse_primary()
            left = self._binary(left, right, op)
        return left

    @staticmethod
    def _binary(left: _Value, right: _Value, op: str) -> _Value:
        lg, rg = left.get, right.get
        return _Value(lambda ctx: _math(lg(ctx), rg(ctx), op), f"{left.describe} {op} {right.describe}")

    def parse_primary(self) -> _Value:
        tok = self.next()
        if tok.kind == "op" and tok.text == "(":
            inner = self.parse_math()
            self.expect(")")
            return inner
        if tok.kind == "op" and tok.text == "-" and self.peek().kind in ("int", "float"):
            num = self.next()
            value = -int(num.text) if num.kind == "int" else -float(num.text)
            return _Value(lambda ctx, v=value: v, num.text)
        if tok.kind == "string":
            value = _unquote(tok.text)
            return _Value(lambda ctx, v=value: v, tok.text)
        if tok.kind == "int":
            value = int(tok.text)
            if value >= 2 ** 63:
                raise OTTLUnsupported(f"integer literal {tok.text} does not fit in an int64")
            return _Value(lambda ctx, v=value: v, tok.text)
        if tok.kind == "float":
            value = float(tok.text)
            return _Value(lambda ctx, v=value: v, tok.text)
        if tok.kind == "bytes":
            raise OTTLUnsupported(f"byte-slice literal {tok.text} is not supported")
        if tok.kind == "op" and tok.text in ("[", "{"):
            raise OTTLUnsupported(f"list and map literals ({tok.text}...) are not supported")
        if tok.kind == "ident":
            return self.parse_identifier(tok)
        raise OTTLUnsupported(f"unexpected {tok.text or 'end of condition'!r} at offset {tok.pos}")

    def parse_identifier(self, tok: Tok) -> _Value:
        name = tok.text
        if name in ("true", "false"):
            value = name == "true"
            return _Value(lambda ctx, v=value: v, name, is_bool_const=True)
        if name == "nil":
            return _Value(lambda ctx: None, name)
        if name in ("and", "or", "not"):
            raise OTTLUnsupported(f"unexpected {name!r} at offset {tok.pos}")
        if self.at("("):
            return self.parse_call(tok)
        if name[0].isupper():
            if name in ENUMS:
                value = ENUMS[name]
                return _Value(lambda ctx, v=value: v, name)
            raise OTTLUnsupported(
                f"unknown enum {name}; supported: {', '.join(ENUMS)}")
        parts = [name]
        while self.at("."):
            self.next()
            part = self.next()
            if part.kind != "ident":
                raise OTTLUnsupported(f"expected a path segment after '.' at offset {part.pos}")
            parts.append(part.text)
        key = None
        if self.at("["):
            self.next()
            key_tok = self.next()
            if key_tok.kind != "string":
                raise OTTLUnsupported(
                    f"only string keys are supported in {'.'.join(parts)}[...] (offset {key_tok.pos})")
            key = _unquote(key_tok.text)
            self.expect("]")
            if self.at("["):
                raise OTTLUnsupported(
                    f"nested indexing ({'.'.join(parts)}[\"{key}\"][...]) is not supported")
        getter = resolve_path(self.context, parts, key)
        shown = ".".join(parts) + (f'["{key}"]' if key is not None else "")
        return _Value(getter, shown)

    def parse_call(self, tok: Tok) -> _Value:
        name = tok.text
        if name not in FUNCTIONS:
            kind = "editor" if name[0].islower() else "function"
            raise OTTLUnsupported(
                f"{kind} {name}() is not supported in conditions; supported functions: "
                f"{', '.join(FUNCTIONS)}")
        self.expect("(")
        target = self.parse_math()
        self.expect(",")
        pattern_tok = self.next()
        if pattern_tok.kind != "string":
            raise OTTLUnsupported("IsMatch's pattern must be a string literal")
        pattern_text = _unquote(pattern_tok.text)
        self.expect(")")
        try:
            pattern = re.compile(go_regex(pattern_text))
        except re.error as exc:
            raise OTTLUnsupported(f"IsMatch: invalid regex {pattern_text!r}: {exc}") from None
        get = target.get

        def is_match(ctx: Ctx) -> bool:
            text = string_like(get(ctx))
            return text is not None and pattern.search(text) is not None

        return _Value(is_match, f"IsMatch({target.describe}, ...)", is_bool_func=True)


def compile_condition(source: str, context: str) -> BoolExpr:
    """Compile one OTTL condition for ``context`` ("span" or "spanevent"); raises
    ``OTTLUnsupported`` for anything outside the subset."""
    if not source.strip():
        raise OTTLUnsupported("empty condition")
    return Parser(source, context).parse()


# ------------------------------------------------------------------ policy
class OTTLCondition:
    def __init__(self, name: str, span: list[BoolExpr], spanevent: list[BoolExpr],
                 error_mode: str = "propagate", sources: tuple[list[str], list[str]] = ([], [])):
        self.name = name
        self.span = span
        self.spanevent = spanevent
        self.error_mode = error_mode
        self.sources = sources

    def _any(self, conditions: list[BoolExpr], ctx: Ctx, sources: list[str]) -> bool:
        for i, cond in enumerate(conditions):
            try:
                if cond(ctx):
                    return True
            except (OTTLRuntimeError, ArithmeticError, TypeError, ValueError) as exc:
                if self.error_mode == "propagate":
                    raise PolicyError(f"{self.name}: OTTL condition failed: {exc}") from exc
                if self.error_mode == "ignore":
                    where = sources[i] if i < len(sources) else f"#{i}"
                    log.warning("policy %s: OTTL condition %s failed: %s", self.name, where, exc)
        return False

    def evaluate(self, trace: TraceView) -> Verdict:
        span, spanevent = self.span, self.spanevent
        span_src, event_src = self.sources
        for batch, rows in trace.parts:
            ev_offsets = batch.event_offsets
            for row in rows:
                if span and self._any(span, (batch, row, -1), span_src):
                    return Verdict(Decision.Sampled)
                if spanevent:
                    for ev in range(ev_offsets[row], ev_offsets[row + 1]):
                        if self._any(spanevent, (batch, row, ev), event_src):
                            return Verdict(Decision.Sampled)
        return Verdict(Decision.NotSampled)


def build_ottl_condition(name: str, span: list[str], spanevent: list[str], error_mode: str,
                         key: str) -> OTTLCondition:
    """Compile the conditions, turning any refusal into a ConfigError at
    ``key.span[i]`` / ``key.spanevent[i]``."""
    compiled: dict[str, list[BoolExpr]] = {"span": [], "spanevent": []}
    for field, sources in (("span", span), ("spanevent", spanevent)):
        for i, source in enumerate(sources):
            try:
                compiled[field].append(compile_condition(source, field))
            except OTTLUnsupported as exc:
                raise ConfigError(f"unsupported OTTL condition {source!r}: {exc} "
                                  f"(see docs/ottl.md)", f"{key}.{field}[{i}]") from None
    return OTTLCondition(name, compiled["span"], compiled["spanevent"], error_mode or "propagate",
                         (list(span), list(spanevent)))
