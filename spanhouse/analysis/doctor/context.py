"""The doctor's SQL: the window a check reads, the fixed fragments its templates are rendered
with, and where the counting checks read their counts (span stats or spans).

Templates are ``spanhouse/analysis/sql/doctor_*.sql`` (``spanhouse.sqlfiles``). Every value
is a bound parameter (``Context.params`` and a check's own); only the table names and the
fixed fragments of this module (``spanhouse.query.sqlutil.Tables.fragments`` and the ones
below) are formatted in.

Window parameters: ``start``/``end`` (the window), ``lo``/``hi`` (the lookup window of missing
relatives), ``settled`` (spans after it are not accused of missing relatives) and ``m0``/``m1``
(the whole minutes the span stats answer for; 0/0 when the spans answer for everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from spanhouse.analysis.doctor.options import DoctorOptions, Thresholds
from spanhouse.analysis.store import AnalysisReader
from spanhouse.model.enums import SPAN_KIND_CODES, SpanKind
from spanhouse.query.sqlutil import WEIGHT_COLUMN, WINDOW, Tables
from spanhouse.sqlfiles import render
from spanhouse.store.schema import span_graph_columns

WIDE = ("Timestamp >= fromUnixTimestamp64Nano({lo:Int64}) "
        "AND Timestamp <= fromUnixTimestamp64Nano({hi:Int64})")
# The counting checks read the span stats of the whole minutes [m0, m1) of the window and the
# spans of the rest of it (its partial first and last minutes); without stats m0 = m1 = 0.
MINUTES = ("Minute >= fromUnixTimestamp64Nano({m0:Int64}) "
           "AND Minute < fromUnixTimestamp64Nano({m1:Int64})")
RAW_WINDOW = (WINDOW + " AND NOT (Timestamp >= fromUnixTimestamp64Nano({m0:Int64}) "
              "AND Timestamp < fromUnixTimestamp64Nano({m1:Int64}))")


def kinds_in(*kinds: SpanKind) -> str:
    """The SQL list of every stored spelling of ``kinds``: ``('Server', 'SPAN_KIND_SERVER')``
    (constants of ``spanhouse.model.enums``, for ``SpanKind IN ${server_kinds}``)."""
    spellings = [text for kind in kinds for text, code in SPAN_KIND_CODES.items() if code == kind]
    return "(" + ", ".join(f"'{text}'" for text in spellings) + ")"


KIND_FRAGMENTS = {
    "server_kinds": kinds_in(SpanKind.SERVER),
    "client_kinds": kinds_in(SpanKind.CLIENT),
    "producer_kinds": kinds_in(SpanKind.PRODUCER),
    "consumer_kinds": kinds_in(SpanKind.CONSUMER),
    # the children a producer span may have
    "consumer_or_server_kinds": kinds_in(SpanKind.CONSUMER, SpanKind.SERVER),
    # the spans the relation checks start from (doctor_kinds.sql)
    "relation_kinds": kinds_in(SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER,
                               SpanKind.SERVER),
}


def graph(tables: Tables) -> str:
    """``${graph}``: the span graph addition, else the same columns computed from the traces
    table (the view's select list, ``spanhouse/store/sql/span_graph_columns.sql``, as a
    subquery: the checks filter it with WHERE, which ClickHouse pushes into it and on to
    PREWHERE), with ``Weight`` (the span's AdjustedCount, or 1) as the addition has it."""
    if tables.span_graph is not None:
        return tables.span_graph
    return (f"(SELECT {span_graph_columns()}, toFloat64({tables.weight}) AS Weight "
            f"FROM {tables.traces})")


def table_names(tables: Tables) -> tuple[str, str] | None:
    """(database, table) of the traces table, unquoted."""
    # ``traces`` is `database`.`table` of validated identifiers (no backquotes inside)
    match = re.fullmatch(r"`([^`]+)`\.`([^`]+)`", tables.traces)
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class Context:
    """What a check runs in: the store, its tables, the window's parameters, the options."""

    store: AnalysisReader
    tables: Tables
    params: dict                              # start, end, lo, hi, settled, m0, m1
    options: DoctorOptions

    @property
    def t(self) -> Thresholds:
        return self.options.thresholds

    def sql(self, name: str, **fragments: str) -> str:
        """Template ``name`` rendered with the tables' and the doctor's fragments (and
        ``fragments``, which take precedence)."""
        policy = "toString(SamplingPolicy)" if self.tables.weight == WEIGHT_COLUMN else "''"
        return render("spanhouse.analysis", name, **{
            **self.tables.fragments, **KIND_FRAGMENTS, "wide": WIDE, "minutes": MINUTES,
            "policy": policy, "graph": graph(self.tables), **fragments})

    def run(self, sql: str, what: str, **extra) -> list[tuple]:
        """The rows of ``sql`` with the window's parameters and ``extra`` bound."""
        return self.store.rows(sql, {**self.params, **extra}, f"doctor: {what}")

    def rows(self, name: str, what: str, **extra) -> list[tuple]:
        """The rows of template ``name`` (see ``sql`` and ``run``)."""
        return self.run(self.sql(name), what, **extra)

    # ------------------------------------------------------------ span stats or spans
    @property
    def uses_stats(self) -> bool:
        """Whether the counting checks read span stats (``{table}_span_stats``: counts per
        minute) for the whole minutes of the window, and spans only for the rest of it."""
        return self.params["m1"] > self.params["m0"]

    def without_stats(self) -> Context:
        """This context with every span of the window read (no whole minute from the stats)."""
        return replace(self, params={**self.params, "m0": 0, "m1": 0})

    def span_fragments(self) -> dict[str, str]:
        """The fragments of the counting checks' span queries (``${spans}`` and its columns):
        the span graph for the partial minutes of a window whose whole minutes come from the
        stats (a time range of small columns), else the traces table over the whole window."""
        if self.uses_stats:
            return {"spans": self.tables.span_graph, "window": RAW_WINDOW,
                    "policy": "toString(SamplingPolicy)", "weight": "Weight",
                    "is_error": "IsError = 1", "is_entry": "IsEntry = 1",
                    "entry_keys": "EntryKeys"}
        return {"spans": self.tables.traces, "window": RAW_WINDOW,
                "entry_keys": "arrayConcat(SpanAttributes.keys, ResourceAttributes.keys)"}

    def counted(self, raw: str, stats: str, what: str, **extra) -> list[tuple]:
        """The rows of template ``raw`` over the spans of the window outside the stats' whole
        minutes, and of template ``stats`` over those minutes (when there are)."""
        rows = self.run(self.sql(raw, **self.span_fragments()), what, **extra)
        if self.uses_stats:
            rows += self.rows(stats, what, **extra)
        return rows
