"""Runs the tag SQL of ``tags`` over an ``AnalysisReader``, restricted by the request's ``q``.

``q`` is the query being typed in Grafana's (or Spanhouse's) editor, often incomplete
(``{ resource.service.name = "cart" && span.http.`` ...). As Tempo's ``ExtractMatchers``, the
restriction is best effort: a query that parses gives its first spanset filter; one that does
not gives the complete ``name op value`` matchers found in it; a filter the SQL translation
refuses is dropped. Autocomplete is never answered 400 for a half-typed query.
"""

from __future__ import annotations

import re

from spanhouse.analysis.store import AnalysisReader
from spanhouse.api.tempo import tags
from spanhouse.errors import InvalidInput
from spanhouse.query.traceql import ast, sqlexpr
from spanhouse.query.traceql.parser import parse

MAX_Q_BYTES = 8192
# A complete matcher: a field, an operator, a literal (Tempo's matchersRegexp, widened to
# scoped names and quoted strings with escapes).
_MATCHER = re.compile(
    r'((?:span|resource|event|link|instrumentation)?\.?[\w.:-]+|\.[\w.:-]+)\s*'
    r'(=~|!~|!=|>=|<=|=|>|<)\s*'
    r'("(?:[^"\\]|\\.)*"|-?[\d.]+(?:ns|us|µs|ms|s|m|h)?|true|false|nil|[a-z]+)(?=\s*(?:&&|\}|$))')


def _from_matchers(q: str):
    matchers = [" ".join(m) for m in _MATCHER.findall(q)]
    if not matchers:
        return None
    try:
        first = parse("{ " + " && ".join(matchers) + " }").pipeline.stages[0]
    except InvalidInput:
        return None
    return first.expression if isinstance(first, ast.SpansetFilter) else None


def spanset_expression(q: str | None):
    """The field expression restricting the spans, or None (every span)."""
    if not q or len(q) > MAX_Q_BYTES:
        return None
    try:
        query = parse(q)
    except InvalidInput:
        return _from_matchers(q)
    stages = query.pipeline.stages
    if len(stages) >= 1 and isinstance(stages[0], ast.SpansetFilter) and not query.is_metrics:
        return stages[0].expression
    return _from_matchers(q)


def _restriction(q: str | None, reader: AnalysisReader) -> tuple[str, str, dict]:
    """(SQL condition, join, its parameters) for ``q``; ("1", "", {}) when none applies."""
    expression = spanset_expression(q)
    if expression is None:
        return "1", "", {}
    params = sqlexpr.Params("q")
    try:
        condition = sqlexpr.condition(expression, params)
    except InvalidInput:
        return "1", "", {}
    join = sqlexpr.trace_join(reader.tables()) if sqlexpr.uses_trace_fields(expression) else ""
    return condition, join, params.values


class TagCatalog:
    """Tag names and values of the store (synchronous: call it on a worker thread)."""

    def __init__(self, reader: AnalysisReader):
        self.reader = reader

    def names(self, scope: str | None, start_ns: int, end_ns: int,
              q: str | None = None) -> dict[str, list[str]]:
        """Scope -> sorted tag names; ``scope`` None or "none": every scope."""
        if scope not in (None, "", "none", *tags.SCOPES):
            raise InvalidInput(f"invalid scope: {scope[:32]!r} is not one of "
                               f"{', '.join(tags.SCOPES)}, none")
        wanted = tags.SCOPES if scope in (None, "", "none") else (scope,)
        found: dict[str, list[str]] = {s: [] for s in wanted if s != "intrinsic"}
        stored = tuple(s for s in ("resource", "span", "event", "link") if s in wanted)
        if stored:
            condition, join, values = _restriction(q, self.reader)
            sql = tags.names_sql(self.reader.tables(), stored, condition, join)
            rows = self.reader.rows(sql, {**values, "start": start_ns, "end": end_ns,
                                          "scan": tags.SCAN_ROWS, "per_scope": tags.MAX_NAMES},
                                    "tag names")
            for row_scope, key in rows:
                found[row_scope].append(key)
        if "intrinsic" in wanted:
            found["intrinsic"] = list(tags.INTRINSICS)
        return found

    def values(self, tag: tags.TagName, start_ns: int, end_ns: int,
               q: str | None = None) -> list[tuple[str, str]]:
        """(type, value) pairs, the most frequent first."""
        virtual = tags.virtual_values(tag)
        if virtual is not None:
            return virtual
        condition, join, values = _restriction(q, self.reader)
        sql = tags.values_sql(self.reader.tables(), tag, condition, join)
        parameters = {**values, "start": start_ns, "end": end_ns, "scan": tags.SCAN_ROWS,
                      "max_bytes": tags.MAX_VALUE_BYTES, "max_values": tags.MAX_VALUES}
        if tag.scope != "intrinsic":
            parameters["key"] = tag.name
        rows = self.reader.rows(sql, parameters, "tag values")
        return [tags.typed(value, stored_type) for value, stored_type in rows]
