"""From Lark's reductions to ``ast`` nodes: the callbacks of the LALR parser (run inline, as
each rule is reduced, so building a tree never recurses), literal decoding, and the static
checks Tempo's ``validate()`` makes (``{ 1 = "foo" }``, ``{ status }``, a bad regex).

The grammar's pipeline level is permissive on purpose: this module decides which operand kinds
may meet (``{ a } > { b }`` is structural, ``count() > 2`` a scalar filter, ``{ a } > 2`` an
error) and refuses, naming the construct, what Tempo parses but Spanhouse does not run
(``UNSUPPORTED``). Every refusal is ``InvalidInput``.
"""

from __future__ import annotations

import math
import re
import threading

from lark import Token

from spanhouse.errors import InvalidInput
from spanhouse.gotime import DurationError, parse_duration_ns
from spanhouse.query.traceql import ast as A, regex

MAX_DEPTH = 128

# Constructs Tempo's grammar accepts that Spanhouse refuses (construct -> reason); the docs
# list this table, and each refusal's message names its construct.
UNSUPPORTED = {
    "topk()": "second-stage metrics functions (topk/bottomk) are not implemented",
    "bottomk()": "second-stage metrics functions (topk/bottomk) are not implemented",
    "compare()": "compare() needs Tempo's baseline/selection split of every attribute",
    "metrics filter": "comparing a metrics result with a number (| rate() > 10) is a second stage",
    "metrics arithmetic": "arithmetic between metrics queries ((a | rate()) / (b | rate()))",
    "scalar pipeline comparison": "comparing the aggregates of two pipelines "
                                  "(({ a } | count()) > ({ b } | count()))",
    "nestedSetLeft": "nested-set intrinsics are Tempo's storage columns",
    "nestedSetRight": "nested-set intrinsics are Tempo's storage columns",
    "nestedSetParent": "nested-set intrinsics are Tempo's storage columns",
}

# The type each intrinsic has (Tempo's ``Intrinsic.impliedType``), by canonical name.
_INTRINSIC_TYPES = {
    "duration": A.DURATION, "traceDuration": A.DURATION, "event:timeSinceStart": A.DURATION,
    "status": A.STATUS, "kind": A.KIND, "childCount": A.INT, "parent": A.NIL,
}
_ATTRIBUTE = "attribute"        # an attribute's type is only known at run time
_NUMERIC = (A.INT, A.FLOAT, A.DURATION)
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
_ARITH = ("+", "-", "*", "/", "%", "^")
_BOOL_OPS = ("&&", "||", "=", "!=", "<", "<=", ">", ">=", "=~", "!~")
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1

_state = threading.local()      # depth of each node built in this thread's current parse


def reset_depths(validate: bool = True) -> None:
    _state.depths = {}
    _state.validate = validate


def validating() -> bool:
    return getattr(_state, "validate", True)


def fail(message: str, token: Token | None = None) -> InvalidInput:
    if token is not None and getattr(token, "line", None):
        message = f"line {token.line}, col {token.column}: {message}"
    return InvalidInput(message)


def unsupported(construct: str, token: Token | None = None) -> InvalidInput:
    return fail(f"{construct} is not supported by Spanhouse ({UNSUPPORTED[construct]})", token)


_NIL = object()     # ``nil`` before the comparison that gives it meaning (``.a != nil``)


class _Stages:
    """A pipeline being built, stage by stage (``a | b | c``, left-associative)."""

    def __init__(self, items: tuple):
        self.items = items


class _ScalarPipe:      # ``({ a } | count())``: a pipeline whose value is an aggregate
    pass


class _MetricsQuery:
    """``({ a } | rate())``: a whole metrics query in parentheses."""

    def __init__(self, pipeline: A.Pipeline, metrics: A.MetricsAggregate):
        self.pipeline, self.metrics = pipeline, metrics


_SPANSETS = (A.SpansetFilter, A.SpansetOperation, A.Pipeline)
_STAGES = (A.ScalarFilter, A.GroupBy, A.Select, A.Coalesce)


def _depth(node) -> int:
    entry = _state.depths.get(id(node))
    return entry[1] if entry is not None and entry[0] is node else 1


def _deep(node, *children, token: Token | None = None, floor: int = 0):
    """Record ``node``'s depth; refuse it past ``MAX_DEPTH`` (every consumer of the tree
    recurses, so a 5,000-long ``&&`` chain must stop here, not in the engine)."""
    depth = max(floor, 1 + max((_depth(c) for c in children), default=0))
    if depth > MAX_DEPTH:
        raise fail(f"the query nests deeper than {MAX_DEPTH} levels", token)
    _state.depths[id(node)] = (node, depth)
    return node


# ----------------------------------------------------------------------------- literals

_GO_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)


def decode_string(tok: Token) -> str:
    """Go's ``strconv.Unquote`` of a "..." or `...` literal (Tempo's lexer uses it)."""
    text = tok.value
    if text[0] == "`":
        return text[1:-1].replace("\r", "")
    out = bytearray()
    pos = 1
    for m in _ESCAPE.finditer(text, 1, len(text) - 1):
        out += text[pos:m.start()].encode("utf-8")
        pos = m.end()
        esc = m.group(1)
        if esc[0] in "xuU" and len(esc) > 1:
            code = int(esc[1:], 16)
            if esc[0] == "x":
                out.append(code)
                continue
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise fail(f"invalid escape \\{esc} in a string", tok)
            out += chr(code).encode("utf-8")
        elif esc[0] in "01234567" and len(esc) == 3:
            if int(esc, 8) > 255:
                raise fail(f"invalid escape \\{esc} in a string", tok)
            out.append(int(esc, 8))
        elif esc in _GO_ESCAPES:
            out.append(_GO_ESCAPES[esc])
        else:
            raise fail(f"invalid escape \\{esc} in a string", tok)
    out += text[pos:-1].encode("utf-8")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("a string's escapes do not make UTF-8", tok) from None


_PROM_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_PROM_UNITS = (365 * 86400 * 10**9, 7 * 86400 * 10**9, 86400 * 10**9, 3600 * 10**9,
               60 * 10**9, 10**9, 10**6)


def parse_duration(tok: Token) -> int:
    """Nanoseconds, as Tempo's ``parseDuration``: Prometheus's units (``1d``, ``2w``, ``1y``,
    whole numbers, largest unit first), else Go's ``time.ParseDuration`` (``1.5s``, ``10µs``)."""
    text = tok.value
    if len(text) > 64:              # no int64 of nanoseconds is spelled longer
        raise fail(f"invalid duration {text[:24]!r}...", tok)
    m = _PROM_DURATION.fullmatch(text)
    if m and text:
        total = sum(int(v) * u for v, u in zip(m.groups(), _PROM_UNITS) if v is not None)
        if total <= _INT_MAX:
            return total
    try:
        return parse_duration_ns(text)
    except DurationError:
        raise fail(f"invalid duration {text!r}", tok) from None


def _number(tok: Token) -> A.Static:
    if tok.type == "DURATION":
        return A.Static(A.DURATION, parse_duration(tok))
    if tok.type == "FLOAT":
        value = float(tok.value)
        if math.isinf(value):
            raise fail(f"number {tok.value[:24]} is out of range", tok)
        return A.Static(A.FLOAT, value)
    # Length first: Python refuses int() of over 4,300 digits (and Go's Atoi stops at int64).
    if len(tok.value.lstrip("0")) > 19 or int(tok.value) > _INT_MAX:
        raise fail(f"integer {tok.value[:24]} is out of range", tok)
    return A.Static(A.INT, int(tok.value))


_ATTR_PREFIX = re.compile(r"(parent\.)?(?:(span|resource|event|link|instrumentation)\.|\.)?")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)


def _attribute(tok: Token) -> A.Attribute:
    text = tok.value
    m = _ATTR_PREFIX.match(text)
    parent, scope = bool(m.group(1)), m.group(2) or A.NONE
    if parent and m.group(2) and m.group(2) not in (A.SPAN, A.RESOURCE):
        scope, rest = A.NONE, text[len("parent."):]   # parent.event.x is unscoped "event.x"
    else:
        rest = text[m.end():]

    def unescape(e: re.Match) -> str:
        if e.group(1) not in '"\\':
            raise fail("invalid escape in a quoted attribute name (only \\\" and \\\\)", tok)
        return e.group(1)

    def unquote(q: re.Match) -> str:
        return re.sub(r"\\(.)", unescape, q.group(1), flags=re.S)

    return A.Attribute(scope, _QUOTED.sub(unquote, rest), parent)


# ----------------------------------------------------------------------------- static checks

def implied_type(e) -> str:
    """Tempo's ``impliedType``: a static's type, an intrinsic's, ``attribute`` when unknown."""
    if isinstance(e, A.Static):
        return e.type
    if isinstance(e, A.Attribute):
        return _ATTRIBUTE
    if isinstance(e, A.Intrinsic):
        return _INTRINSIC_TYPES.get(e.name, A.STRING)
    if isinstance(e, A.BinaryOperation):
        if e.op in _BOOL_OPS:
            return A.BOOL
        t = implied_type(e.lhs)
        return t if t != _ATTRIBUTE else implied_type(e.rhs)
    if isinstance(e, A.UnaryOperation):
        return implied_type(e.operand)
    return _ATTRIBUTE


def _op_valid(op: str, t: str) -> bool:
    if t == _ATTRIBUTE:
        return True
    if t == A.BOOL:
        return op in ("&&", "||", "=", "!=")
    if t in _NUMERIC:
        return op in _ARITH or op in _COMPARE
    if t == A.STRING:
        return op in _COMPARE or op in ("=~", "!~")
    return op in ("=", "!=")        # nil, status, kind


def _matching(a: str, b: str) -> bool:
    return (_ATTRIBUTE in (a, b) or a == b or (a in _NUMERIC and b in _NUMERIC)
            or A.NIL in (a, b))


def references_span(e) -> bool:
    if isinstance(e, (A.Attribute, A.Intrinsic)):
        return True
    if isinstance(e, A.BinaryOperation):
        return references_span(e.lhs) or references_span(e.rhs)
    return isinstance(e, A.UnaryOperation) and references_span(e.operand)


def check(e, tok: Token | None = None) -> None:
    """Tempo's ``validate()`` of a field expression (depth is bounded by ``MAX_DEPTH``)."""
    if not validating():
        return
    if isinstance(e, A.UnaryOperation):
        check(e.operand, tok)
        t = implied_type(e.operand)
        ok = t == _ATTRIBUTE or (t in _NUMERIC if e.op == "-" else t == A.BOOL)
        if not ok:
            raise fail(f"{_quote(e)}: '{e.op}' cannot apply to {_a(t)}", tok)
    elif isinstance(e, A.BinaryOperation):
        check(e.lhs, tok)
        check(e.rhs, tok)
        if isinstance(e.rhs, A.Static) and e.rhs.type == A.NIL:
            if e.op == "=":         # "is absent": never true of an intrinsic (Tempo's rule)
                _check_nil(e.lhs, tok)
            return
        lt, rt = implied_type(e.lhs), implied_type(e.rhs)
        if not _matching(lt, rt):
            raise fail(f"{_quote(e)}: '{e.op}' compares {_a(lt)} with {_a(rt)}", tok)
        if not (_op_valid(e.op, lt) and _op_valid(e.op, rt)):
            bad = lt if not _op_valid(e.op, lt) else rt
            raise fail(f"{_quote(e)}: '{e.op}' cannot apply to {_a(bad)}", tok)
        if e.op in ("=~", "!~"):
            if not (isinstance(e.rhs, A.Static) and e.rhs.type == A.STRING):
                raise fail(f"'{e.op}' needs a string regular expression on its right", tok)
            if not regex.compiles(e.rhs.value):
                raise fail(f"invalid regular expression {e.rhs.value[:40]!r}", tok)


def _a(t: str) -> str:
    return ("an " if t[0] in "aeiou" else "a ") + t


def _quote(e) -> str:
    text = describe(e)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_nil(e, tok) -> None:
    if isinstance(e, A.Intrinsic):
        raise fail(f"intrinsic {e.name} cannot be nil", tok)
    if e == A.Attribute(A.RESOURCE, "service.name"):
        raise fail("resource.service.name cannot be nil", tok)


def _go_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


def _equals(a: A.Static, b: A.Static) -> bool:
    """Tempo's ``Static.Equals``: numbers across int/float/duration by value, else same type."""
    if a.type in _NUMERIC and b.type in _NUMERIC:
        return float(a.value) == float(b.value) if A.FLOAT in (a.type, b.type) \
            else a.value == b.value
    return a.type == b.type and a.value == b.value


def fold_field(op: str, a, b):
    """Tempo's ``newBinaryOperation`` runs an operation of two literals at parse time
    (``{ 1 + 1 > 1 }`` is ``{ true }``); the same results here, or None to keep the operation
    (a type error ``check`` reports, a regex, ``^`` of ints, a division by zero)."""
    if not (isinstance(a, A.Static) and isinstance(b, A.Static)) or A.NIL in (a.type, b.type):
        return None
    if not (_matching(a.type, b.type) and _op_valid(op, a.type) and _op_valid(op, b.type)) \
            or op in ("=~", "!~"):
        return None
    x, y = a.value, b.value
    compare = {"<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y,
               ">=": lambda: x >= y}
    if a.type == b.type == A.STRING and op in compare:
        return A.Static(A.BOOL, compare[op]())
    if a.type == b.type == A.INT and op in "+-*/%<=>=" and op not in ("=", "!="):
        if op in compare:
            return A.Static(A.BOOL, compare[op]())
        if op in "/%" and y == 0:
            return None
        v = {"+": x + y, "-": x - y, "*": x * y, "/": _go_div(x, y) if y else 0,
             "%": x - y * _go_div(x, y) if y else 0}[op]
        return A.Static(A.INT, ((v + (1 << 63)) % (1 << 64)) - (1 << 63))   # Go's int64 wraps
    if a.type == b.type == A.BOOL and op in ("&&", "||"):
        return A.Static(A.BOOL, (x and y) if op == "&&" else (x or y))
    if op in ("=", "!="):
        return A.Static(A.BOOL, _equals(a, b) == (op == "="))
    if a.type == b.type == A.INT or a.type not in _NUMERIC or b.type not in _NUMERIC:
        return None                 # ^ of ints (Tempo's intPow) stays for the engine
    x, y = float(x), float(y)       # Tempo's catch-all: float arithmetic and comparisons
    if op in compare:
        return A.Static(A.BOOL, compare[op]())
    try:
        v = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y,
             "%": lambda: math.fmod(x, y), "^": lambda: math.pow(x, y)}[op]()
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    return A.Static(A.FLOAT, v)


def _name(x) -> str:
    if isinstance(x, (A.SpansetFilter, A.SpansetOperation, A.Pipeline)):
        return "a spanset"
    if isinstance(x, A.Static):
        return "a number"
    if isinstance(x, (A.Aggregate, A.BinaryOperation)):
        return "an aggregate"
    return "a pipeline stage"

def describe(expr) -> str:
    """Tempo's spelling of a field expression: ``span.http.route``, ``.foo``, ``duration``,
    ``span."a b"`` (a name Tempo's lexer would split is quoted)."""
    if isinstance(expr, A.Attribute):
        scope = "." if expr.scope == A.NONE else f"{expr.scope}."
        prefix = ("parent." + (scope if scope != "." else "")) if expr.parent else scope
        name = expr.name
        if not name or re.search(r'[\s{}()=~!<>&|^,"\\]', name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return prefix + name
    if isinstance(expr, A.Intrinsic):     # Tempo spells childCount only as span:childCount
        return "span:childCount" if expr.name == "childCount" else expr.name
    if isinstance(expr, A.Static):
        return _describe_static(expr)
    if isinstance(expr, A.UnaryOperation):
        return f"{expr.op}{describe(expr.operand)}"
    if isinstance(expr, A.BinaryOperation):
        return f"({describe(expr.lhs)} {expr.op} {describe(expr.rhs)})"
    raise TypeError(f"not a field expression: {type(expr).__name__}")


def _describe_static(s: A.Static) -> str:
    if s.type == A.STRING:
        return '"' + s.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if s.type == A.BOOL:
        return "true" if s.value else "false"
    if s.type == A.NIL:
        return "nil"
    if s.type == A.DURATION:
        return f"{s.value}ns"
    return str(s.value)
