"""TraceQL text -> ``ast.Query``: ``parse(text)``, the one entry point the engine calls.

The grammar is ``traceql.lark`` (Tempo's ``expr.y`` for Lark's LALR parser, built once per
process). ``_Build``'s callbacks run as the parser reduces each rule, so no step recurses over
the input: a query over ``MAX_QUERY_BYTES``, nested deeper than ``MAX_DEPTH``, or holding a
control character is refused before or while it is read. Every refusal is ``InvalidInput``
with a short message that says where (``line 1, col 14: expected a value after '='``).

``describe(expr)`` spells a field expression back as Tempo does (``span.http.route``), for
series labels and response attribute names. ``UNSUPPORTED`` lists what Tempo parses and
Spanhouse refuses.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from spanhouse.errors import InvalidInput
from spanhouse.query.traceql import ast as A
from spanhouse.query.traceql import transform as T
from spanhouse.query.traceql.transform import MAX_DEPTH, UNSUPPORTED, describe, fail, unsupported

__all__ = ["parse", "describe", "UNSUPPORTED", "MAX_DEPTH", "MAX_QUERY_BYTES"]

MAX_QUERY_BYTES = 16 * 1024
_GRAMMAR = Path(__file__).with_name("traceql.lark")
# Control characters (Go's scanner takes only space, tab, CR and LF as white space) and lone
# surrogates (not text: they cannot even be encoded to reach ClickHouse).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Brackets outside strings and quoted attribute names (a string may hold any bracket). An
# unterminated string runs to the end (the closing quote is optional): no match ever fails,
# so the scan stays linear even over thousands of stray quotes.
_BRACKETS = re.compile(r'[(){}]|"(?:[^"\\]|\\.)*"?|`[^`]*`?', re.S)
_SPANSET_OPS = set(A.SPANSET_LOGICAL) | set(A.STRUCTURAL)
_METRICS_ATTR = ("min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
                 "histogram_over_time", "quantile_over_time")


class _Build(Transformer):
    """The parser's reductions (see the grammar's rule names)."""

    # ------------------------------------------------------------------ field level
    def static(self, c):
        tok = c[0]
        t = tok.type
        if t == "STRING":
            return A.Static(A.STRING, T.decode_string(tok))
        if t in ("INT", "FLOAT", "DURATION"):
            return T._number(tok)
        if t in ("TRUE", "FALSE"):
            return A.Static(A.BOOL, t == "TRUE")
        if t in ("STATUS", "KIND"):
            return A.Static(A.STATUS if t == "STATUS" else A.KIND, tok.value)
        if tok.value in ("minInt", "maxInt"):
            return A.Static(A.INT, T._INT_MIN if tok.value == "minInt" else T._INT_MAX)
        raise fail(f"unknown identifier {tok.value[:40]!r}", tok)

    def intrinsic(self, c):
        tok = c[0]
        name = re.sub(r"\s+", "", tok.value)
        if name in UNSUPPORTED:
            raise unsupported(name, tok)
        if name not in A.INTRINSICS or name == "childCount":
            raise fail(f"unknown intrinsic {name!r}", tok)
        return A.Intrinsic(A.CANONICAL_INTRINSIC.get(name, name))

    def attribute(self, c):
        return T._attribute(c[0])

    def nil(self, c):
        return T._NIL

    def funary(self, c):
        op, x = c
        x = self._field(x, op)
        if isinstance(x, A.Static):     # Tempo folds negative numbers and !true at parse time
            if op == "-" and x.type in T._NUMERIC:
                return A.Static(x.type, -x.value)
            if op == "!" and x.type == A.BOOL:
                return A.Static(A.BOOL, not x.value)
        return T._deep(A.UnaryOperation(op.value, x), x, token=op)

    def fbin(self, c):
        lhs, op, rhs = c
        if T._NIL in (lhs, rhs):
            if op.value not in ("=", "!="):
                raise fail(f"nil can only be compared with = or !=, not {op.value!r}", op)
            if lhs is rhs:                      # nil = nil, nil != nil: Tempo's false
                return A.Static(A.BOOL, False)
            lhs = self._field(rhs if lhs is T._NIL else lhs, op)
            rhs = A.Static(A.NIL, None)         # nil always on the right: one spelling
        lhs, rhs = self._field(lhs, op), self._field(rhs, op)
        folded = T.fold_field(op.value, lhs, rhs)
        if folded is not None:
            return folded
        return T._deep(A.BinaryOperation(op.value, lhs, rhs), lhs, rhs, token=op)

    @staticmethod
    def _field(x, tok):
        if x is T._NIL:
            raise fail("nil can only be compared with = or !=", tok)
        return x

    # ------------------------------------------------------------------ pipeline level
    def filter(self, c):
        e = c[0]
        if e is None:
            return A.SpansetFilter()
        e = self._field(e, None)
        T.check(e)
        t = T.implied_type(e)
        if t not in (A.BOOL, T._ATTRIBUTE) and T.validating():
            raise fail(f"{T._quote(e)}: a spanset filter must be true or false, not {T._a(t)}")
        return T._deep(A.SpansetFilter(e), e)

    def number(self, c):
        return T._number(c[0])

    def pneg(self, c):
        op, x = c
        if isinstance(x, A.Static) and x.type in T._NUMERIC:
            return A.Static(x.type, -x.value)
        raise fail("'-' here applies to numbers only", op)

    def pbin(self, c):
        lhs, op, rhs = c
        o = op.value
        for x in (lhs, rhs):
            if isinstance(x, (A.MetricsAggregate, T._MetricsQuery)):
                raise unsupported("metrics filter" if o in T._COMPARE else "metrics arithmetic", op)
            if isinstance(x, T._ScalarPipe):
                raise unsupported("scalar pipeline comparison", op)
        if isinstance(lhs, T._SPANSETS) and isinstance(rhs, T._SPANSETS):
            if o not in _SPANSET_OPS:
                raise fail(f"{o!r} is not an operator between spansets", op)
            return T._deep(A.SpansetOperation(o, lhs, rhs), lhs, rhs, token=op)
        scalars = (A.Aggregate, A.BinaryOperation, A.Static)
        if not (isinstance(lhs, scalars) and isinstance(rhs, scalars)):
            raise fail(f"{o!r} cannot join {T._name(lhs)} and {T._name(rhs)}", op)
        both_numbers = isinstance(lhs, A.Static) and isinstance(rhs, A.Static)
        if o in T._COMPARE:
            if both_numbers:
                raise fail("a scalar filter needs an aggregate such as count()", op)
            return T._deep(A.ScalarFilter(o, lhs, rhs), lhs, rhs, token=op)
        if o not in T._ARITH:
            raise fail(f"{o!r} is not an operator between aggregates", op)
        if both_numbers:            # Tempo folds a literal side at parse time (2 / 6 is 0)
            folded = T.fold_field(o, lhs, rhs)
            if folded is None and o in "/%" and not rhs.value:
                raise fail("division by zero", op)
            return folded or A.BinaryOperation(o, lhs, rhs)
        return T._deep(A.BinaryOperation(o, lhs, rhs), lhs, rhs, token=op)

    def pipe(self, c):
        lhs, op, rhs = c
        if isinstance(lhs, T._MetricsQuery):
            raise fail("a metrics query cannot be followed by another stage", op)
        items = lhs.items if isinstance(lhs, T._Stages) else self._first(lhs, op)
        last = items[-1]
        if isinstance(last, A.MetricsAggregate):
            raise fail(f"{last.fn}() must be the last stage", op)
        if isinstance(last, A.Aggregate):
            raise fail(f"{last.fn}() must be compared, e.g. {last.fn}() > 1", op)
        if isinstance(rhs, (T._Stages, T._ScalarPipe, T._MetricsQuery)) or not isinstance(
                rhs, T._SPANSETS + T._STAGES + (A.Aggregate, A.MetricsAggregate)):
            raise fail(f"{T._name(rhs)} cannot be a pipeline stage", op)
        # Stages are a flat tuple: a long pipeline is as deep as its deepest stage, not longer.
        return T._deep(T._Stages(items + (rhs,)), rhs, token=op, floor=T._depth(lhs))

    @staticmethod
    def _first(x, tok):
        if isinstance(x, T._SPANSETS):
            return (x,)
        if isinstance(x, (A.ScalarFilter, A.GroupBy, A.Select)):
            return (A.SpansetFilter(), x)       # Tempo runs them over all spans: { } | ...
        if isinstance(x, A.Coalesce):
            raise fail("a pipeline cannot start with coalesce()", tok)
        raise fail(f"a pipeline cannot start with {T._name(x)}", tok)

    def group(self, c):
        x = c[0]
        if not isinstance(x, T._Stages):
            return x
        *head, last = x.items
        if isinstance(last, A.MetricsAggregate):
            return T._MetricsQuery(A.Pipeline(tuple(head)), last)
        if isinstance(last, A.Aggregate):
            return T._ScalarPipe()
        return T._deep(A.Pipeline(x.items), x)

    def args(self, c):
        return list(c)

    def call(self, c):
        if c[0].type == "BY":
            tok, args, by = c[0], c[1] or [], None
            name = "by"
        else:
            tok, args, by_tok, by = c[0], c[1] or [], c[2], c[3]
            name = tok.value
            if by_tok is not None and name not in A.METRICS:
                raise fail(f"by(...) cannot follow {name}()", by_tok)
        if f"{name}()" in UNSUPPORTED:
            raise unsupported(f"{name}()", tok)
        if name == "by":
            return self._by(tok, args)
        if name in ("count", "rate", "count_over_time", "coalesce"):
            self._arity(tok, args, 0)
        if name in A.AGGREGATES:
            if name != "count":
                self._arity(tok, args, 1)
                T.check(args[0], tok)
                t = T.implied_type(args[0])
                if T.validating() and ((t != T._ATTRIBUTE and t not in T._NUMERIC)
                                       or not T.references_span(args[0])):
                    raise fail(f"{name}() needs a numeric field of the span", tok)
            return T._deep(A.Aggregate(name, args[0] if args else None), *args)
        if name == "coalesce":
            return A.Coalesce()
        if name == "select":
            if not args:
                raise fail("select() needs at least one field", tok)
            return A.Select(tuple(self._attr(a, tok) for a in args))
        # metrics
        by_fields = ()
        if by is not None or (c[0].type != "BY" and c[2] is not None):
            if not by:
                raise fail("by() needs at least one field", c[2])
            by_fields = tuple(self._attr(a, c[2]) for a in by)
        if name not in _METRICS_ATTR:
            return A.MetricsAggregate(name, by=by_fields)
        if not args:
            raise fail(f"{name}() needs a field", tok)
        attr = self._attr(args[0], tok)
        if name != "quantile_over_time":
            self._arity(tok, args, 1)
            return A.MetricsAggregate(name, attr, by=by_fields)
        qs = args[1:]
        if not qs or not all(isinstance(q, A.Static) and q.type in (A.INT, A.FLOAT) for q in qs):
            raise fail("quantile_over_time() needs a field and quantiles, e.g. (duration, .9)", tok)
        return A.MetricsAggregate(name, attr, tuple(float(q.value) for q in qs), by_fields)

    @staticmethod
    def _by(tok, args):
        if len(args) != 1:
            raise fail("by() takes one field expression", tok)
        T.check(args[0], tok)
        if T.validating() and not T.references_span(args[0]):
            raise fail("by() must group by a field of the span", tok)
        return T._deep(A.GroupBy(args[0]), args[0])

    @staticmethod
    def _arity(tok, args, n):
        if len(args) != n:
            raise fail(f"{tok.value}() takes {n or 'no'} argument{'s' if n != 1 else ''}", tok)

    @staticmethod
    def _attr(x, tok):
        if not isinstance(x, (A.Attribute, A.Intrinsic)):
            raise fail("expected an attribute or intrinsic (span.x, duration)", tok)
        return x

    # ------------------------------------------------------------------ root
    def hint(self, c):
        return A.Hint(c[0].value, c[2])

    def hints(self, c):
        return [h for h in c if isinstance(h, A.Hint)]

    def start(self, c):
        x, hints = c[0], tuple(h for group in c[1:] for h in group)
        if isinstance(x, T._MetricsQuery):
            return A.Query(x.pipeline, x.metrics, hints)
        if isinstance(x, T._Stages):
            *head, last = x.items
            if isinstance(last, A.MetricsAggregate):
                return A.Query(A.Pipeline(tuple(head)), last, hints)
            if isinstance(last, A.Aggregate):
                raise fail(f"{last.fn}() must be compared, e.g. {last.fn}() > 1")
            return A.Query(A.Pipeline(x.items), None, hints)
        if isinstance(x, A.Pipeline):
            return A.Query(x, None, hints)
        if isinstance(x, (A.SpansetFilter, A.SpansetOperation, A.ScalarFilter, A.GroupBy,
                          A.Select, A.Coalesce)):
            return A.Query(A.Pipeline(self._first(x, None)), None, hints)
        if isinstance(x, T._ScalarPipe):
            raise unsupported("scalar pipeline comparison")
        raise fail(f"a query cannot be {T._name(x)}; start with a spanset filter {{ ... }}")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The LALR parser, built once per process (building takes ~100 ms; parsing, microseconds)."""
    return Lark(_GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                transformer=_Build(), maybe_placeholders=True, cache=False)


def parse(text: str, *, validate: bool = True) -> A.Query:
    """The query ``text`` as a tree; ``InvalidInput`` when it is not TraceQL Spanhouse runs.
    ``validate=False`` skips the type checks (Tempo's ``Parse`` without ``validate()``, as
    Tempo's own parser tests do); the engine always validates."""
    if not isinstance(text, str):
        raise InvalidInput("a TraceQL query must be text")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise InvalidInput(f"the query is longer than {MAX_QUERY_BYTES // 1024} KiB")
    bad = _CONTROL.search(text)
    if bad:
        line, col = _where(text, bad.start())
        what = "control character" if bad.group() < "\ud800" else "unpaired surrogate"
        raise InvalidInput(f"line {line}, col {col}: {what} "
                           f"U+{ord(bad.group()):04X} in the query")
    if not text.strip():
        raise InvalidInput("the query is empty; try { } for every span")
    _check_nesting(text)
    T.reset_depths(validate)
    try:
        return _parser().parse(text)
    except UnexpectedInput as e:
        raise InvalidInput(_explain(e, text)) from None
    except RecursionError:      # not expected (nothing recurses past MAX_DEPTH); still a 400
        raise InvalidInput(f"the query nests deeper than {MAX_DEPTH} levels") from None
    finally:
        T.reset_depths()


def _where(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _check_nesting(text: str) -> None:
    """Refuse more than ``MAX_DEPTH`` open brackets in one pass, before parsing (a 10,000-deep
    ``((((`` must cost a scan, not a parse)."""
    depth = 0
    for m in _BRACKETS.finditer(text):
        ch = m.group()
        if ch in "({":
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _where(text, m.start())
                raise InvalidInput(f"line {line}, col {col}: the query nests deeper than "
                                   f"{MAX_DEPTH} levels")
        elif ch in ")}":
            depth -= 1


# What a missing token is, in words (Lark's terminal names -> text).
_VALUES = {"STRING", "INT", "FLOAT", "DURATION", "TRUE", "FALSE", "STATUS", "KIND", "NIL",
           "ATTRIBUTE", "INTRINSIC", "SCOPED_INTRINSIC", "IDENT"}
_WORDS = {"RBRACE": "'}'", "RPAR": "')'", "LBRACE": "'{'", "LPAR": "'('", "COMMA": "','",
          "EQ": "'='", "FUNC": "a function", "BY": "by", "WITH": "with",
          "$END": "the end of the query"}
_OPERATORS = {"LOGIC", "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "RE", "NRE", "DESC", "ANCE", "SIBL",
              "NOT_CHILD", "NOT_PARENT", "NOT_DESC", "NOT_ANCE", "UNION_CHILD", "UNION_PARENT",
              "UNION_DESC", "UNION_ANCE", "UNION_SIBL", "PLUS", "MINUS", "MULOP", "POW", "PIPE"}


def _show(tok) -> str:
    v = str(tok.value) if tok is not None else ""
    return repr(v if len(v) <= 40 else v[:40] + "...") if v else "the end of the query"


def _explain(e: UnexpectedInput, text: str) -> str:
    line, col = getattr(e, "line", 0), getattr(e, "column", 0)
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        what = {'"': "an unterminated string or bad escape", "`": "an unterminated string",
                ".": "an attribute name after '.'"}.get(ch)
        found = f"unexpected character {ch!r}" if not what else (
            f"expected {what}" if ch == "." else what)
        return f"line {line}, col {col}: {found}"
    expected = set(getattr(e, "expected", ()) or ())
    tok = getattr(e, "token", None)
    if isinstance(e, UnexpectedEOF) or tok is None or tok.type == "$END":
        (line, col), tok = _where(text, len(text)), None
    # Where a whole operand may start, say so in one phrase (the prefix '-', '!' and '(' that
    # may also start one are implied); elsewhere list operators and closing brackets.
    if expected & {"FUNC", "BY"} and "LBRACE" in expected:
        want = "a spanset filter { ... } or a function"
    elif len(expected & _VALUES) >= 3:
        want = "a value"
    else:
        words = (["an operator"] if expected & _OPERATORS else []) + sorted(
            _WORDS.get(x, x.lower()) for x in expected - _OPERATORS - _VALUES - {"$END"})
        want = " or ".join(words[:4]) + (" ..." if len(words) > 4 else "") or "nothing more"
    prev = _previous(text, tok.start_pos if tok is not None else len(text))
    after = f" after {prev!r}" if prev else ""
    return f"line {line}, col {col}: expected {want}{after}, found {_show(tok)}"


def _previous(text: str, pos: int) -> str:
    """The last word or operator before ``pos`` (for "expected a value after '='")."""
    m = re.search(r"(\w+|[^\w\s]+)\s*$", text[max(0, pos - 40):pos])
    return m.group(1)[-20:] if m else ""

