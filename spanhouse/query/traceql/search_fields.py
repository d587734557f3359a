"""Names of TraceQL fields and the per-trace fields' join (part of ``sqlexpr``'s interface,
which re-exports them; here so that both stay small).

- ``label``: Tempo's spelling of a field, as a response names it (``span.http.route``).
- ``fields``: the attributes and intrinsics an expression reads.
- ``trace_join``: ``rootName``, ``rootServiceName`` and ``traceDuration`` are per trace, so a
  condition on them reads columns that this join adds to each span row.
"""

from __future__ import annotations

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import WINDOW, Tables
from spanhouse.query.traceql import ast
from spanhouse.query.traceql.parser import describe

# Columns trace_join() adds: root span's service and name, trace duration (ns).
ROOT_SERVICE, ROOT_NAME, TRACE_DURATION = "__root_service", "__root_name", "__trace_duration"
TRACE_COLUMNS = (ROOT_SERVICE, ROOT_NAME, TRACE_DURATION)
_TRACE_INTRINSICS = {"rootServiceName": ROOT_SERVICE, "rootName": ROOT_NAME,
                     "traceDuration": TRACE_DURATION}
def label(expr) -> str:
    """Tempo's spelling of a field: ``span.http.route``, ``.foo``, ``duration``, ``event:name``
    (the parser's ``describe``, so that labels and parsed queries agree)."""
    try:
        return describe(expr)
    except TypeError:
        raise InvalidInput(f"not a field: {type(expr).__name__}") from None


def fields(expr) -> list:
    """The attributes and intrinsics an expression reads, in order, without repeats."""
    out: list = []

    def walk(e):
        if isinstance(e, (ast.Attribute, ast.Intrinsic)):
            if e not in out:
                out.append(e)
        elif isinstance(e, ast.BinaryOperation):
            walk(e.lhs)
            walk(e.rhs)
        elif isinstance(e, ast.UnaryOperation):
            walk(e.operand)

    if expr is not None:
        walk(expr)
    return out


def uses_trace_fields(expr) -> bool:
    return any(isinstance(f, ast.Intrinsic) and f.name in _TRACE_INTRINSICS for f in fields(expr))


def trace_join(tables: Tables) -> str:
    """``ANY LEFT JOIN`` text adding ``TRACE_COLUMNS`` per ``TraceId`` for the traces with spans in
    the window (``{start:Int64}``/``{end:Int64}``, which the caller binds): from the per-trace
    summary table when the store has it, else from the traces table itself (over the window:
    a trace's spans outside it are then not seen)."""
    ids = f"SELECT DISTINCT TraceId FROM {tables.traces} PREWHERE {WINDOW}"
    if tables.summary is not None:
        info = (f"SELECT TraceId, if(min(Root).1 = 0, min(Root).4, '') AS {ROOT_SERVICE}, "
                f"if(min(Root).1 = 0, min(Root).5, '') AS {ROOT_NAME}, "
                f"toFloat64(max(End) - toUnixTimestamp64Nano(min(Start))) AS {TRACE_DURATION} "
                f"FROM {tables.summary} WHERE TraceId IN ({ids}) GROUP BY TraceId")
    else:
        info = (f"SELECT TraceId, anyIf(ServiceName, ParentSpanId = '') AS {ROOT_SERVICE}, "
                f"anyIf(SpanName, ParentSpanId = '') AS {ROOT_NAME}, "
                f"toFloat64(max(toUnixTimestamp64Nano(Timestamp) + Duration) "
                f"- min(toUnixTimestamp64Nano(Timestamp))) AS {TRACE_DURATION} "
                f"FROM {tables.traces} PREWHERE {WINDOW} GROUP BY TraceId")
    return f" ANY LEFT JOIN ({info}) AS __trace USING (TraceId)"


