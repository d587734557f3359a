"""The TraceQL syntax tree: what ``parser.parse`` returns and what ``compile``/``metrics`` read.

Named after Tempo's own ``pkg/traceql/ast.go`` where a node has a counterpart there, so that
the ported test vectors read the same. Every node is a frozen dataclass (hashable, comparable:
tests compare trees with ``==``).

A query is a ``Query``: a ``Pipeline`` of stages whose first stage is a spanset expression
(a ``SpansetFilter`` or a ``SpansetOperation`` of them), optionally followed by a metrics
aggregate (``| rate() by (...)``) and query hints (``with (...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# ----------------------------------------------------------------------------- values

# Static types, as Tempo's ``StaticType``.
STRING, INT, FLOAT, BOOL, NIL, DURATION, STATUS, KIND = (
    "string", "int", "float", "bool", "nil", "duration", "status", "kind")

STATUSES = ("error", "ok", "unset")
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")


@dataclass(frozen=True)
class Static:
    """A literal. ``value``: str for string/status/kind, int for int and duration (duration in
    nanoseconds), float, bool, None for nil."""

    type: str
    value: object


# Attribute scopes. NONE is the unscoped ``.attr`` (span or resource, as Tempo).
NONE, SPAN, RESOURCE, EVENT, LINK, INSTRUMENTATION, PARENT = (
    "none", "span", "resource", "event", "link", "instrumentation", "parent")


@dataclass(frozen=True)
class Attribute:
    """``span.http.route``, ``resource.service.name``, ``.foo``, ``span."name with spaces"``.
    ``parent`` is True for ``parent.``-prefixed attributes (``parent.span.x``): Tempo's
    ``Parent``; ``scope`` is then the scope after ``parent.`` (or NONE)."""

    scope: str
    name: str
    parent: bool = False


# Intrinsic names, spelled as in queries. The colon forms are Tempo's scoped intrinsics.
INTRINSICS = (
    "duration", "name", "status", "statusMessage", "kind", "childCount", "parent",
    "rootName", "rootServiceName", "traceDuration",
    "span:duration", "span:name", "span:status", "span:statusMessage", "span:kind",
    "span:childCount", "span:id", "span:parentID",
    "trace:duration", "trace:rootName", "trace:rootService", "trace:id",
    "event:name", "event:timeSinceStart",
    "link:traceID", "link:spanID",
    "instrumentation:name", "instrumentation:version",
)

# The unscoped spellings each scoped intrinsic is the same as (one canonical name each).
CANONICAL_INTRINSIC = {
    "span:duration": "duration", "span:name": "name", "span:status": "status",
    "span:statusMessage": "statusMessage", "span:kind": "kind", "span:childCount": "childCount",
    "trace:duration": "traceDuration", "trace:rootName": "rootName",
    "trace:rootService": "rootServiceName",
}


@dataclass(frozen=True)
class Intrinsic:
    """An intrinsic field, by its canonical name (``CANONICAL_INTRINSIC`` applied)."""

    name: str


# ----------------------------------------------------------------------------- field expressions

# Operators of field expressions (inside ``{ }``), as written.
COMPARISONS = ("=", "!=", ">", ">=", "<", "<=", "=~", "!~")
LOGICAL = ("&&", "||")
ARITHMETIC = ("+", "-", "*", "/", "%", "^")


@dataclass(frozen=True)
class BinaryOperation:
    """``lhs op rhs`` inside a spanset filter (comparison, logical or arithmetic)."""

    op: str
    lhs: "FieldExpression"
    rhs: "FieldExpression"


@dataclass(frozen=True)
class UnaryOperation:
    """``!expr`` or ``-expr``."""

    op: str
    operand: "FieldExpression"


FieldExpression = Union[Static, Attribute, Intrinsic, BinaryOperation, UnaryOperation]

# ----------------------------------------------------------------------------- spansets


@dataclass(frozen=True)
class SpansetFilter:
    """``{ expression }``; ``{ }`` (expression None) matches every span."""

    expression: FieldExpression | None = None


# Operators between spansets, as written: logical and structural (with their negations and
# Tempo's union forms ``&>`` ... ).
SPANSET_LOGICAL = ("&&", "||")
STRUCTURAL = ("~", ">", ">>", "<", "<<", "!~", "!>", "!>>", "!<", "!<<",
              "&~", "&>", "&>>", "&<", "&<<")


@dataclass(frozen=True)
class SpansetOperation:
    """``lhs op rhs`` between two spanset expressions."""

    op: str
    lhs: "SpansetExpression"
    rhs: "SpansetExpression"


SpansetExpression = Union[SpansetFilter, SpansetOperation, "Pipeline"]

# ----------------------------------------------------------------------------- pipeline stages

AGGREGATES = ("count", "avg", "min", "max", "sum")


@dataclass(frozen=True)
class Aggregate:
    """``count()`` (expression None) or ``avg(duration)`` ... over each spanset."""

    fn: str
    expression: FieldExpression | None = None


@dataclass(frozen=True)
class ScalarFilter:
    """``| count() > 2``, ``| avg(duration) > 1s``: keep spansets whose aggregate compares so.
    Either side may be an ``Aggregate``, a ``Static`` or an arithmetic of them."""

    op: str
    lhs: Union[Aggregate, Static, BinaryOperation]
    rhs: Union[Aggregate, Static, BinaryOperation]


@dataclass(frozen=True)
class GroupBy:
    """``| by(resource.service.name)``: split each spanset by the value of ``expression``."""

    expression: FieldExpression


@dataclass(frozen=True)
class Select:
    """``| select(span.http.status_code, .foo)``: return these fields with the spans."""

    fields: tuple[FieldExpression, ...]


@dataclass(frozen=True)
class Coalesce:
    """``| coalesce()``: merge the spansets of a trace into one."""


PipelineStage = Union[SpansetFilter, SpansetOperation, ScalarFilter, GroupBy, Select, Coalesce,
                      "Pipeline"]


@dataclass(frozen=True)
class Pipeline:
    """``stage | stage | ...``; the first stage is a spanset expression. A parenthesised
    pipeline may itself be a spanset expression (``({ a } | count() > 1) && { b }``)."""

    stages: tuple[PipelineStage, ...]


# ----------------------------------------------------------------------------- metrics

METRICS = ("rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time",
           "sum_over_time", "quantile_over_time", "histogram_over_time")


@dataclass(frozen=True)
class MetricsAggregate:
    """``| rate() by (resource.service.name)``, ``| quantile_over_time(duration, .5, .9)``.
    ``attribute`` is the measured field (None for rate/count_over_time); ``quantiles`` only
    for quantile_over_time; ``by`` the grouping fields (empty: one series)."""

    fn: str
    attribute: FieldExpression | None = None
    quantiles: tuple[float, ...] = ()
    by: tuple[FieldExpression, ...] = ()


@dataclass(frozen=True)
class Hint:
    """One ``with (name = value)`` hint, e.g. ``sample = true``."""

    name: str
    value: Static


@dataclass(frozen=True)
class Query:
    """A whole query: the spanset pipeline, the metrics aggregate if any, and hints."""

    pipeline: Pipeline
    metrics: MetricsAggregate | None = None
    hints: tuple[Hint, ...] = field(default=())

    @property
    def is_metrics(self) -> bool:
        return self.metrics is not None
