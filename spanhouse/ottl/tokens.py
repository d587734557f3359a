"""The OTTL tokenizer: strings (with Go's escapes), byte-slice, float and int literals,
operators and punctuation, identifiers. Byte slices are tokenized only to be refused by name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from spanhouse.ottl.errors import OTTLUnsupported

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


def unquote(literal: str) -> str:
    """The value of a string literal token (quotes included), Go escapes resolved."""
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
    """The tokens of ``source`` (whitespace dropped), ending with an ``end`` token."""
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
