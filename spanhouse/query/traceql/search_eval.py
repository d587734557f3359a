"""A TraceQL pipeline over the rows of ONE candidate trace, as Tempo's engine evaluates it
(``pkg/traceql/ast_execute.go``): a list of spansets goes through the stages.

The leaves' conditions were evaluated by ClickHouse (one flag per leaf per row); what is left
here is set logic on bounded rows: ``&&``/``||`` and structural operators between spansets,
later ``{ }`` filters, ``by``, ``coalesce``, ``select`` and the aggregates of scalar filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spanhouse.errors import InvalidInput
from spanhouse.model.attributes import decode_typed
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.search_fields import label
from spanhouse.query.traceql.structural import Tree, relate

_DECODED = ("", "string", "int", "double", "bool")
_DURATIONS = (ast.Intrinsic("duration"), ast.Intrinsic("traceDuration"))


@dataclass(eq=False)
class Row:
    """One stored span of a candidate trace: identity, flags per leaf, field values."""

    span_id: str
    key: object           # identity in the tree (span id, or the span graph's hash)
    start_ns: int
    duration_ns: int
    name: str
    service: str
    flags: list           # per leaf: does the span match it
    values: dict          # field -> typed value (absent: the span has no such value)


@dataclass
class Spanset:
    spans: list
    attributes: dict = field(default_factory=dict)


def collect_rows(raw: list, leaves: int, row_fields: list) -> dict[str, dict[str, Row]]:
    """TraceId -> SpanId -> Row of ``rows_sql``'s result (one row per span and leaf it
    matches: the flags of a span's rows are merged)."""
    out: dict[str, dict[str, Row]] = {}
    for values in raw:
        leaf, trace_id, span_id = values[0], values[1], values[2]
        spans = out.setdefault(trace_id, {})
        row = _row(values, leaves, row_fields)
        seen = spans.setdefault(span_id, row)
        if seen is not row:     # another leaf's branch: it may have read other fields
            for f, v in row.values.items():
                seen.values.setdefault(f, v)
        seen.flags[leaf] = True
    return out


def _row(raw: tuple, leaves: int, row_fields: list) -> Row:
    span_id, key, start, duration, name, service = raw[2:8]
    values = {}
    rest = raw[8:]
    for i, f in enumerate(row_fields):
        text, type_name = rest[2 * i], rest[2 * i + 1]
        if text is None:
            continue
        if isinstance(f, ast.Attribute):
            values[f] = _decode(text, type_name)
        elif f in _DURATIONS:
            values[f] = int(text)          # nanoseconds, as Tempo's duration values
        else:
            values[f] = text
    return Row(span_id, key, start, duration, name, service, [False] * leaves, values)


def _decode(text: str, type_name: str):
    """The typed value of a stored attribute string (the stored string when its type is one
    a response has no scalar for, or when it does not parse as its type)."""
    if type_name not in _DECODED:
        return text
    try:
        return decode_typed(text, type_name or None)
    except ValueError:
        return text


class Evaluator:
    """Evaluates a plan's pipeline over one trace's rows."""

    def __init__(self, leaf_index: dict, rows: list[Row], parents: dict | None = None):
        """``rows``: the trace's spans that match some leaf (no other span can be in a
        spanset); ``parents``: span key -> parent key of every span of the trace (read for
        structural queries only)."""
        self.leaf_index = leaf_index
        self.tree = Tree(parents or {})
        self.rows = rows

    def run(self, pipeline: ast.Pipeline) -> list[Spanset]:
        return self.pipeline(pipeline, [Spanset(list(self.rows))])

    def pipeline(self, pipeline: ast.Pipeline, sets: list[Spanset]) -> list[Spanset]:
        for stage in pipeline.stages:
            if not sets:
                return []
            sets = self.stage(stage, sets)
        return sets

    def stage(self, stage, sets: list[Spanset]) -> list[Spanset]:
        if isinstance(stage, (ast.SpansetFilter, ast.SpansetOperation, ast.Pipeline)):
            return self.spanset(stage, sets)
        if isinstance(stage, ast.ScalarFilter):
            return [s for s in sets if self.scalar_filter(stage, s)]
        if isinstance(stage, ast.GroupBy):
            return self.group(stage, sets)
        if isinstance(stage, ast.Coalesce):
            spans = _unique([span for s in sets for span in s.spans])
            return [Spanset(spans)] if spans else []
        return sets                       # select(): its fields were read with the rows

    def spanset(self, node, sets: list[Spanset]) -> list[Spanset]:
        if isinstance(node, ast.SpansetFilter):
            i = self.leaf_index[node]
            out = [Spanset([r for r in s.spans if r.flags[i]], dict(s.attributes)) for s in sets]
            return [s for s in out if s.spans]
        if isinstance(node, ast.Pipeline):
            return self.pipeline(node, sets)
        out = []
        for s in sets:
            lhs, rhs = self.spanset(node.lhs, [s]), self.spanset(node.rhs, [s])
            if node.op in ("&&", "||"):
                if (lhs and rhs) if node.op == "&&" else (lhs or rhs):
                    spans = _unique([r for x in lhs + rhs for r in x.spans])
                    out.append(Spanset(spans, dict(s.attributes)))
                continue
            if len(lhs) > 1 or len(rhs) > 1:
                raise InvalidInput("spanset operators are not supported for multiple spansets "
                                   "per trace; consider using coalesce()")
            if not rhs:
                continue
            spans = relate(node.op, lhs[0].spans if lhs else [], rhs[0].spans, self.tree)
            if spans:
                out.append(Spanset(spans, dict(s.attributes)))
        return out

    def group(self, stage: ast.GroupBy, sets: list[Spanset]) -> list[Spanset]:
        name = f"by({label(stage.expression)})"
        out = []
        for s in sets:
            groups: dict = {}
            for r in s.spans:
                key = r.values.get(stage.expression)
                groups.setdefault((type(key).__name__, key), []).append(r)
            for (_, key), spans in groups.items():
                attributes = dict(s.attributes)
                if key is not None:
                    attributes[name] = key
                out.append(Spanset(spans, attributes))
        return out

    def scalar_filter(self, stage: ast.ScalarFilter, s: Spanset) -> bool:
        lhs, rhs = self.scalar(stage.lhs, s), self.scalar(stage.rhs, s)
        if lhs is None or rhs is None:
            return False
        ops = {"=": lhs == rhs, "!=": lhs != rhs, ">": lhs > rhs, ">=": lhs >= rhs,
               "<": lhs < rhs, "<=": lhs <= rhs}
        if stage.op not in ops:
            raise InvalidInput(f"scalar filters compare with = != > >= < <=, not {stage.op}")
        return ops[stage.op]

    def scalar(self, node, s: Spanset):
        if isinstance(node, ast.Static):
            if node.type not in (ast.INT, ast.FLOAT, ast.DURATION):
                raise InvalidInput(f"a scalar filter compares numbers, not {label(node)}")
            return node.value
        if isinstance(node, ast.BinaryOperation):
            a, b = self.scalar(node.lhs, s), self.scalar(node.rhs, s)
            if a is None or b is None:
                return None
            return _arithmetic(node.op, a, b)
        result = self.aggregate(node, s)
        if result is not None:
            text = label(node.expression) if node.expression is not None else ""
            s.attributes[f"{node.fn}({text})"] = result
        return result

    def aggregate(self, node: ast.Aggregate, s: Spanset):
        if node.fn == "count":
            return len(s.spans)
        numbers = [_number(r, node.expression) for r in s.spans]
        numbers = [n for n in numbers if n is not None]
        if not numbers:
            return None
        if node.fn == "avg":
            return sum(numbers) / len(numbers)
        return {"min": min, "max": max, "sum": sum}[node.fn](numbers)


def _number(row: Row, expr):
    if expr == ast.Intrinsic("duration"):
        return row.duration_ns
    v = row.values.get(expr)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def _arithmetic(op: str, a, b):
    try:
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                "/": lambda: a / b, "%": lambda: a % b, "^": lambda: float(a) ** b}[op]()
    except (ZeroDivisionError, OverflowError):
        return None
    except KeyError:
        raise InvalidInput(f"{op} is not an arithmetic operator") from None


def _unique(rows: list) -> list:
    seen, out = set(), []
    for r in rows:
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out
