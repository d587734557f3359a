"""The OTTL condition parser: tokens in, a compiled condition (``BoolExpr``) out.

The grammar of the supported subset (upstream's is ``pkg/ottl/grammar.go``)::

    condition  = or_expr
    or_expr    = and_expr { "or" and_expr }
    and_expr   = not_expr { "and" not_expr }
    not_expr   = [ "not" ] bool_term
    bool_term  = "(" or_expr ")"              # a boolean group...
               | math [ comparison math ]     # ...else a comparison, or true/false/IsMatch(...)
    math       = product { ( "+" | "-" ) product }
    product    = primary { ( "*" | "/" ) primary }
    primary    = "(" math ")" | [ "-" ] int | [ "-" ] float | string
               | "true" | "false" | "nil" | ENUM | "IsMatch" "(" math "," string ")"
               | path [ "[" string "]" ]
    path       = ident { "." ident }

A ``(`` is first read as a boolean group; when a comparison or math operator follows the
closing parenthesis it is read again as a math group. Each rule compiles straight to a closure
over the batch columns, so evaluating a condition walks no tree.
"""

from __future__ import annotations

from spanhouse.ottl.arithmetic import ADDITIVE, MULTIPLICATIVE, arithmetic
from spanhouse.ottl.comparisons import COMPARISONS, compare
from spanhouse.ottl.context import BoolExpr, Getter
from spanhouse.ottl.enums import ENUMS
from spanhouse.ottl.errors import OTTLUnsupported
from spanhouse.ottl.functions import FUNCTIONS, is_match
from spanhouse.ottl.paths import resolve_path
from spanhouse.ottl.tokens import Tok, tokenize, unquote


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
                if not (nxt.kind == "op" and nxt.text in (*COMPARISONS, *ADDITIVE, *MULTIPLICATIVE)):
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
        while self.peek().kind == "op" and self.peek().text in ADDITIVE:
            op = self.next().text
            right = self.parse_product()
            left = self._binary(left, right, op)
        return left

    def parse_product(self) -> _Value:
        left = self.parse_primary()
        while self.peek().kind == "op" and self.peek().text in MULTIPLICATIVE:
            op = self.next().text
            right = self.parse_primary()
            left = self._binary(left, right, op)
        return left

    @staticmethod
    def _binary(left: _Value, right: _Value, op: str) -> _Value:
        lg, rg = left.get, right.get
        return _Value(lambda ctx: arithmetic(lg(ctx), rg(ctx), op),
                      f"{left.describe} {op} {right.describe}")

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
            value = unquote(tok.text)
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
            key = unquote(key_tok.text)
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
        pattern_text = unquote(pattern_tok.text)
        self.expect(")")
        return _Value(is_match(target.get, pattern_text), f"IsMatch({target.describe}, ...)",
                      is_bool_func=True)


def compile_condition(source: str, context: str) -> BoolExpr:
    """Compile one OTTL condition for ``context`` ("span" or "spanevent"); raises
    ``OTTLUnsupported`` for anything outside the subset."""
    if not source.strip():
        raise OTTLUnsupported("empty condition")
    return Parser(source, context).parse()
