"""TraceQL field expressions (what is inside ``{ }``) as ClickHouse SQL over one row of the
traces table (the OTel ClickHouse exporter's ``otel_traces``).

Used by the search (``search.py``) and the metrics (``metrics.py``). Every caller value (string,
number, attribute name, regular expression) becomes a bound parameter through ``Params``;
only the fixed fragments of this module are formatted into the text.

Semantics follow Tempo (``pkg/traceql``):

- TraceQL is typed. Attributes are stored as strings in ``Map`` columns, with their original
  type in ``SpanAttributeTypes``/``ResourceAttributeTypes`` (no entry = string, see
  ``spanhouse.model.attributes``). ``span.x = 200`` compares numerically and matches int and
  double attributes only; ``span.x = "200"`` matches string attributes only; a comparison with
  a missing attribute or a value of another type is false (for ``!=`` too), as in Tempo.
- ``= nil`` / ``!= nil`` test presence. The unscoped ``.x`` is the span attribute when the span
  has it, else the resource attribute (Tempo's lookup order).
- ``=~`` / ``!~`` are RE2 (ClickHouse ``match``) anchored to the whole value, as Tempo's
  regexes are; a literal longer than ``MAX_REGEX_BYTES`` is refused.
- ``event:name``, ``link:traceID``, ``link:spanID`` and ``event.``/``link.`` attributes hold
  several values per span: a comparison is true when any of them compares so.
- ``rootName``, ``rootServiceName`` and ``traceDuration`` are per trace: the condition reads the
  columns ``TRACE_COLUMNS`` that ``trace_join(tables)`` adds (the caller puts that join after its
  ``FROM`` when ``uses_trace_fields`` says so).
"""

from __future__ import annotations

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import IS_ERROR, KIND_SPELLINGS, STATUS_SPELLINGS
from spanhouse.query.traceql import ast
# Re-exported: the field names and the trace-level join are part of this module's interface.
from spanhouse.query.traceql.search_fields import (  # noqa: F401
    ROOT_NAME, ROOT_SERVICE, TRACE_COLUMNS, TRACE_DURATION, fields, label, trace_join,
    uses_trace_fields,
)

MAX_REGEX_BYTES = 1024
MAX_STRING_BYTES = 64 * 1024
# Single-valued intrinsics: (column, kind).
_COLUMNS = {
    "name": ("SpanName", "string"), "statusMessage": ("StatusMessage", "string"),
    "duration": ("Duration", "number"), "instrumentation:name": ("ScopeName", "string"),
    "instrumentation:version": ("ScopeVersion", "string"), "span:id": ("SpanId", "string"),
    "span:parentID": ("ParentSpanId", "string"), "trace:id": ("TraceId", "string"),
    "rootServiceName": (ROOT_SERVICE, "string"), "rootName": (ROOT_NAME, "string"),
    "traceDuration": (TRACE_DURATION, "number"),
}
# Several values per span (Nested columns): a comparison holds when any value compares so.
_ARRAYS = {"event:name": "`Events.Name`", "link:traceID": "`Links.TraceId`",
           "link:spanID": "`Links.SpanId`"}
_MAPS = {ast.SPAN: ("SpanAttributes", "SpanAttributeTypes"),
         ast.RESOURCE: ("ResourceAttributes", "ResourceAttributeTypes"),
         ast.EVENT: ("`Events.Attributes`", "`Events.AttributeTypes`"),
         ast.LINK: ("`Links.Attributes`", "`Links.AttributeTypes`")}
_NUMERIC_TYPES = "('int', 'double')"
_STRING_TYPES = "('', 'string')"
SERVICE_NAME = ast.Attribute(ast.RESOURCE, "service.name")
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}
_ARITH_SQL = {"+": "plus", "-": "minus", "*": "multiply", "/": "divide", "%": "modulo",
              "^": "pow"}


class Params:
    """The bound parameters of one statement: ``add`` returns the placeholder text."""

    def __init__(self, prefix: str = "p"):
        self.prefix = prefix
        self.values: dict[str, object] = {}

    def add(self, value, ch_type: str) -> str:
        name = f"{self.prefix}{len(self.values)}"
        self.values[name] = value
        return "{%s:%s}" % (name, ch_type)


# ----------------------------------------------------------------------------- literals
def _static(s: ast.Static, params: Params) -> str:
    if s.type == ast.STRING:
        text = str(s.value)
        if len(text.encode()) > MAX_STRING_BYTES:
            raise InvalidInput(f"string literal longer than {MAX_STRING_BYTES} bytes")
        return params.add(text, "String")
    if s.type in (ast.INT, ast.DURATION):
        return params.add(int(s.value), "Int64")
    if s.type == ast.FLOAT:
        return params.add(float(s.value), "Float64")
    if s.type == ast.BOOL:
        return "1" if s.value else "0"
    raise InvalidInput(f"{label(s)} cannot be used here")


def _regex(s: ast.Static, params: Params) -> str:
    if s.type != ast.STRING:
        raise InvalidInput(f"=~ and !~ take a string, not {label(s)}")
    text = str(s.value)
    if len(text.encode()) > MAX_REGEX_BYTES:
        raise InvalidInput(f"regular expression longer than {MAX_REGEX_BYTES} bytes")
    return params.add(f"^(?:{text})$", "String")


# ----------------------------------------------------------------------------- values
def _check_field(expr) -> None:
    if isinstance(expr, ast.Attribute):
        if expr.parent:
            raise InvalidInput(f"{label(expr)}: parent. attributes are not supported")
        if expr.scope not in _MAPS and expr.scope != ast.NONE:
            raise InvalidInput(f"{label(expr)}: {expr.scope} attributes are not supported")
    elif isinstance(expr, ast.Intrinsic):
        if expr.name not in _COLUMNS and expr.name not in _ARRAYS \
                and expr.name not in ("status", "kind", "parent"):
            raise InvalidInput(f"intrinsic {expr.name} is not supported")


def _attr_maps(a: ast.Attribute, params: Params):
    """(key placeholder, [(values map, types map)]) in lookup order."""
    key = params.add(a.name, "String")
    if a.scope == ast.NONE:
        return key, [_MAPS[ast.SPAN], _MAPS[ast.RESOURCE]]
    return key, [_MAPS[a.scope]]


def attribute_type(a: ast.Attribute, params: Params) -> str:
    """SQL of the stored type name of a span/resource attribute ('' for a string or when
    absent; see ``spanhouse.model.attributes.TYPE_NAMES``), beside ``value``'s string."""
    if a.scope in (ast.EVENT, ast.LINK):
        raise InvalidInput(f"{label(a)}: {a.scope} attributes can only be compared")
    key, maps = _attr_maps(a, params)
    out = "''"
    for values, types in reversed(maps):
        out = f"if(mapContains({values}, {key}), {types}[{key}], {out})"
    return out


def _attr_string(a: ast.Attribute, params: Params) -> str:
    """Nullable(String): the stored string, NULL when absent (span/resource scopes only)."""
    key, maps = _attr_maps(a, params)
    if a.scope in (ast.EVENT, ast.LINK):
        raise InvalidInput(f"{label(a)}: {a.scope} attributes can only be compared")
    out = "NULL"
    for values, _types in reversed(maps):
        out = f"if(mapContains({values}, {key}), {values}[{key}], {out})"
    return out


def _attr_number(a: ast.Attribute, params: Params) -> str:
    """Nullable(Float64): int/double attributes as numbers, NULL otherwise."""
    if a.scope in (ast.EVENT, ast.LINK):
        raise InvalidInput(f"{label(a)}: {a.scope} attributes can only be compared")
    key, maps = _attr_maps(a, params)
    out = "CAST(NULL AS Nullable(Float64))"
    for values, types in reversed(maps):
        out = (f"if(mapContains({values}, {key}), if({types}[{key}] IN {_NUMERIC_TYPES}, "
               f"toFloat64OrNull({values}[{key}]), NULL), {out})")
    return out


def value(expr, params: Params) -> tuple[str, str]:
    """SQL of a field's value over one row and its kind: ``"number"`` (Float64 or
    Nullable(Float64): durations in ns, ints, floats, arithmetic) or ``"string"`` (String or
    Nullable(String); attributes: the stored string whatever their type, NULL when absent;
    status and kind: Tempo's lower-case names). Use ``numeric`` for an attribute's number."""
    _check_field(expr)
    if isinstance(expr, ast.Intrinsic):
        if expr.name in _COLUMNS:
            column, kind = _COLUMNS[expr.name]
            return (f"toFloat64({column})" if kind == "number" else column), kind
        if expr.name == "status":
            return _enum_name(STATUS_SPELLINGS, "StatusCode", "unset"), "string"
        if expr.name == "kind":
            return _enum_name(KIND_SPELLINGS, "SpanKind", "unspecified"), "string"
        raise InvalidInput(f"{expr.name} has no single value per span")
    if expr == SERVICE_NAME:
        return "ServiceName", "string"
    if isinstance(expr, ast.Attribute):
        return _attr_string(expr, params), "string"
    if isinstance(expr, ast.Static):
        if expr.type in (ast.INT, ast.FLOAT, ast.DURATION):
            return _static(expr, params), "number"
        return _static(expr, params), "string"
    return numeric(expr, params), "number"


def _enum_name(spellings: dict, column: str, empty: str) -> str:
    """``multiIf`` of the stored spellings to Tempo's name (fixed constants only)."""
    arms = []
    for name, stored in spellings.items():
        quoted = ", ".join(f"'{s}'" for s in stored)
        arms.append(f"{column} IN ({quoted}), '{name or empty}'")
    return f"multiIf({', '.join(arms)}, lower({column}))"


def numeric(expr, params: Params) -> str:
    """Nullable(Float64) of a numeric field or arithmetic (NULL where a value is missing or
    not a number, so the comparison is false, as Tempo's)."""
    if isinstance(expr, ast.Attribute):
        _check_field(expr)
        return _attr_number(expr, params)
    if isinstance(expr, ast.Static):
        if expr.type not in (ast.INT, ast.FLOAT, ast.DURATION):
            raise InvalidInput(f"{label(expr)} is not a number")
        return f"toFloat64({_static(expr, params)})"
    if isinstance(expr, ast.Intrinsic):
        sql, kind = value(expr, params)
        if kind != "number":
            raise InvalidInput(f"{expr.name} is not a number")
        return sql
    if isinstance(expr, ast.UnaryOperation) and expr.op == "-":
        return f"negate({numeric(expr.operand, params)})"
    if isinstance(expr, ast.BinaryOperation) and expr.op in _ARITH_SQL:
        lhs, rhs = numeric(expr.lhs, params), numeric(expr.rhs, params)
        return f"toFloat64({_ARITH_SQL[expr.op]}({lhs}, {rhs}))"
    raise InvalidInput(f"{label(expr)} is not a number")


# ----------------------------------------------------------------------------- conditions
def condition(expr, params: Params) -> str:
    """A ClickHouse boolean over one row, true when the span matches (None: every span)."""
    if expr is None:
        return "1"
    if isinstance(expr, ast.BinaryOperation):
        if expr.op in ("&&", "||"):
            sql = " AND " if expr.op == "&&" else " OR "
            return f"({condition(expr.lhs, params)}{sql}{condition(expr.rhs, params)})"
        if expr.op in ast.COMPARISONS:
            return _comparison(expr.op, expr.lhs, expr.rhs, params)
        raise InvalidInput(f"{label(expr)} is not a condition")
    if isinstance(expr, ast.UnaryOperation) and expr.op == "!":
        return f"(NOT {condition(expr.operand, params)})"
    if isinstance(expr, ast.Static) and expr.type == ast.BOOL:
        return "1" if expr.value else "0"
    if isinstance(expr, ast.Attribute):      # { span.flag }: a bool attribute that is true
        return _comparison("=", expr, ast.Static(ast.BOOL, True), params)
    raise InvalidInput(f"{label(expr)} is not a condition")


def _comparison(op: str, lhs, rhs, params: Params) -> str:
    if isinstance(lhs, ast.Static) and not isinstance(rhs, ast.Static):
        if op in ("=~", "!~"):
            raise InvalidInput(f"{label(lhs)} {op}: the regular expression goes on the right")
        lhs, rhs, op = rhs, lhs, _FLIP[op]
    for side in (lhs, rhs):
        _check_field(side)
    if isinstance(rhs, ast.Static):
        if isinstance(lhs, ast.Attribute):
            return _attribute_vs_static(op, lhs, rhs, params)
        if isinstance(lhs, ast.Intrinsic):
            return _intrinsic_vs_static(op, lhs, rhs, params)
        if isinstance(lhs, ast.Static):
            return _static_vs_static(op, lhs, rhs)
    if op in ("=~", "!~"):
        raise InvalidInput(f"{op} takes a string literal on its right")
    # Two fields or arithmetic: numbers when either side is one, else strings.
    if _is_numeric(lhs) or _is_numeric(rhs):
        return f"ifNull({numeric(lhs, params)} {op} {numeric(rhs, params)}, 0)"
    left, right = value(lhs, params)[0], value(rhs, params)[0]
    return f"ifNull({left} {op} {right}, 0)"


def _is_numeric(expr) -> bool:
    if isinstance(expr, ast.Static):
        return expr.type in (ast.INT, ast.FLOAT, ast.DURATION)
    if isinstance(expr, ast.Intrinsic):
        return _COLUMNS.get(expr.name, ("", ""))[1] == "number"
    return isinstance(expr, (ast.BinaryOperation, ast.UnaryOperation))


def _compare(left: str, op: str, rhs: ast.Static, params: Params) -> str:
    if op in ("=~", "!~"):
        test = f"match({left}, {_regex(rhs, params)})"
        return test if op == "=~" else f"NOT {test}"
    return f"{left} {op} {_static(rhs, params)}"


def _static_vs_static(op: str, lhs: ast.Static, rhs: ast.Static) -> str:
    """Two literals (``{ 1 = 1 }``): decided here; different types never compare equal."""
    numbers = (ast.INT, ast.FLOAT, ast.DURATION)
    same = lhs.type == rhs.type or (lhs.type in numbers and rhs.type in numbers)
    if op in ("=", "!="):
        return "1" if (same and lhs.value == rhs.value) == (op == "=") else "0"
    if not same or lhs.type in (ast.NIL, ast.BOOL, ast.STATUS, ast.KIND) or op in ("=~", "!~"):
        raise InvalidInput(f"{label(lhs)} {op} {label(rhs)} does not compare")
    a, b = lhs.value, rhs.value
    return "1" if {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op] else "0"


def _intrinsic_vs_static(op: str, field: ast.Intrinsic, rhs: ast.Static, params: Params) -> str:
    name = field.name
    if rhs.type == ast.NIL:
        if op not in ("=", "!="):
            raise InvalidInput(f"{name} {op} nil: only = and != compare with nil")
        if name == "parent":
            return "ParentSpanId = ''" if op == "=" else "ParentSpanId != ''"
        if name in _ARRAYS:
            return f"empty({_ARRAYS[name]})" if op == "=" else f"notEmpty({_ARRAYS[name]})"
        return "0" if op == "=" else "1"      # intrinsics always have a value
    if name in ("status", "kind"):
        return _enum_compare(op, name, rhs)
    if name == "parent":
        raise InvalidInput("parent can only be compared with nil")
    if name in _ARRAYS:
        if rhs.type != ast.STRING:
            raise InvalidInput(f"{name} is a string; {label(rhs)} is not")
        return f"arrayExists(x -> {_compare('x', op, rhs, params)}, {_ARRAYS[name]})"
    column, kind = _COLUMNS[name]
    if kind == "number":
        if rhs.type not in (ast.INT, ast.FLOAT, ast.DURATION) or op in ("=~", "!~"):
            raise InvalidInput(f"{name} is a duration; compare it with a number or duration")
        return _compare(column, op, rhs, params)
    if rhs.type != ast.STRING:
        raise InvalidInput(f"{name} is a string; {label(rhs)} is not")
    return _compare(column, op, rhs, params)


def _enum_compare(op: str, name: str, rhs: ast.Static) -> str:
    wanted = ast.STATUS if name == "status" else ast.KIND
    if rhs.type != wanted or op not in ("=", "!="):
        raise InvalidInput(f"{name} compares with = or != and a {wanted} such as "
                           f"{'error' if name == 'status' else 'server'}, not {label(rhs)}")
    if name == "status":
        spellings, column = STATUS_SPELLINGS[str(rhs.value)], "StatusCode"
        if rhs.value == "error":
            return IS_ERROR if op == "=" else f"NOT ({IS_ERROR})"
    else:
        key = "" if rhs.value == "unspecified" else str(rhs.value)
        spellings, column = KIND_SPELLINGS[key], "SpanKind"
    quoted = ", ".join(f"'{s}'" for s in spellings)        # fixed constants, never caller text
    return f"{column} {'IN' if op == '=' else 'NOT IN'} ({quoted})"


def _typed_test(values: str, types: str, key: str, op: str, rhs: ast.Static,
                params: Params) -> str:
    """True when the attribute ``key`` of this map is present, of the literal's type and
    compares so (the test of one scope)."""
    present = f"mapContains({values}, {key})"
    stored = f"{values}[{key}]"
    if rhs.type == ast.STRING:
        return (f"({present} AND {types}[{key}] IN {_STRING_TYPES} AND "
                f"{_compare(stored, op, rhs, params)})")
    if rhs.type in (ast.INT, ast.FLOAT, ast.DURATION):
        if op in ("=~", "!~"):
            raise InvalidInput(f"{op} takes a string, not {label(rhs)}")
        return (f"({present} AND {types}[{key}] IN {_NUMERIC_TYPES} AND "
                f"ifNull(toFloat64OrNull({stored}) {op} toFloat64({_static(rhs, params)}), 0))")
    if rhs.type == ast.BOOL:
        if op not in ("=", "!="):
            raise InvalidInput(f"a boolean compares with = or !=, not {op}")
        return f"({present} AND {types}[{key}] = 'bool' AND {stored} {op} " \
               f"'{'true' if rhs.value else 'false'}')"
    raise InvalidInput(f"attributes do not compare with {label(rhs)}")


def _attribute_vs_static(op: str, a: ast.Attribute, rhs: ast.Static, params: Params) -> str:
    if a == SERVICE_NAME and rhs.type in (ast.STRING, ast.NIL):
        # The exporter's primary key column: a plain predicate on it lets the key prune.
        if rhs.type == ast.NIL:
            return "ServiceName = ''" if op == "=" else "ServiceName != ''"
        return _compare("ServiceName", op, rhs, params)
    key, maps = _attr_maps(a, params)
    if a.scope in (ast.EVENT, ast.LINK):
        values, types = maps[0]
        if rhs.type == ast.NIL:
            if op not in ("=", "!="):
                raise InvalidInput(f"{label(a)} {op} nil: only = and != compare with nil")
            test = f"arrayExists(m -> mapContains(m, {key}), {values})"
            return test if op == "!=" else f"NOT {test}"
        inner = _typed_test("m", "t", key, op, rhs, params)
        return f"arrayExists((m, t) -> {inner}, {values}, {types})"
    if rhs.type == ast.NIL:
        if op not in ("=", "!="):
            raise InvalidInput(f"{label(a)} {op} nil: only = and != compare with nil")
        present = " OR ".join(f"mapContains({values}, {key})" for values, _ in maps)
        return f"({present})" if op == "!=" else f"NOT ({present})"
    if len(maps) == 1:
        return _typed_test(maps[0][0], maps[0][1], key, op, rhs, params)
    (span_values, span_types), (res_values, res_types) = maps
    # Unscoped: the span's attribute when it has one, else the resource's.
    return (f"if(mapContains({span_values}, {key}), "
            f"{_typed_test(span_values, span_types, key, op, rhs, params)}, "
            f"{_typed_test(res_values, res_types, key, op, rhs, params)})")
