"""The store's read of whole traces by id, as ``SpanRecord``s: ``TraceReader``.

This is the one read that stays in ``spanhouse/store`` (the searches are in
``spanhouse/query``): it selects every column of the table and turns rows back into records,
so it changes with the schema and the writer, not with the queries. ``QueryService`` keeps one
``TraceReader`` per pooled client for ``Reader.get_trace`` and ``Reader.find_traces``.

The query is the one the exporter's README gives for "find traces with traceID": the
``{table}_trace_id_ts`` lookup table (filled by the materialized view) bounds the
``Timestamp`` range, so the primary key and partitions prune, and the ``TraceId`` bloom filter
does the rest. Trace ids are always bound parameters (``{trace_id:String}``,
``{ids:Array(String)}``, bound by the server); only validated, backquoted identifiers are
formatted into the SQL.

Works on tables created by the collector's exporter (any release: with or without
``ScopeName``/``ScopeVersion``) as well as on Spanhouse's own: it selects only the columns the
table has, and Spanhouse's extra columns (types, flags, dropped counts, sampling) are optional.
"""

from __future__ import annotations

from typing import Any

from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.ids import STORED_TRACE_ID_RE
from spanhouse.model.span import (
    EventRecord, LinkRecord, SpanRecord, parse_span_kind, parse_status_code, typed_attributes,
)
from spanhouse.store.schema import quote_identifier, table_columns

# The exporter's README query, with a bound trace id. {traces} and {id_ts} are backquoted,
# validated identifiers; {columns} is built from the fixed expressions below.
# One scalar subquery gives both bounds (one lookup of the id instead of two).
GET_TRACE_SQL = """\
WITH
    (SELECT (min(Start), max(End) + 1) FROM {id_ts} WHERE TraceId = {{trace_id:String}}) AS bounds,
    bounds.1 AS trace_start,
    bounds.2 AS trace_end
SELECT {columns}
FROM {traces}
WHERE TraceId = {{trace_id:String}}
  AND Timestamp >= trace_start
  AND Timestamp <= trace_end
ORDER BY Timestamp, SpanId"""

# Several traces in one query (``find_traces``): one time range bounds them all.
GET_TRACES_SQL = """\
WITH
    (SELECT min(Start) FROM {id_ts} WHERE TraceId IN {{ids:Array(String)}}) AS lo,
    (SELECT max(End) + 1 FROM {id_ts} WHERE TraceId IN {{ids:Array(String)}}) AS hi
SELECT {columns}
FROM {traces}
PREWHERE TraceId IN {{ids:Array(String)}} AND Timestamp >= lo AND Timestamp <= hi
ORDER BY TraceId, Timestamp, SpanId"""

# Column -> select expression. Times as exact integer nanoseconds.
REQUIRED_COLUMNS: dict[str, str] = {
    "TraceId": "TraceId",
    "SpanId": "SpanId",
    "ParentSpanId": "ParentSpanId",
    "TraceState": "TraceState",
    "SpanName": "SpanName",
    "SpanKind": "SpanKind",
    "ServiceName": "ServiceName",
    "ResourceAttributes": "ResourceAttributes",
    "SpanAttributes": "SpanAttributes",
    "Timestamp": "toUnixTimestamp64Nano(Timestamp)",
    "Duration": "Duration",
    "StatusCode": "StatusCode",
    "StatusMessage": "StatusMessage",
    "Events.Timestamp": "arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`)",
    "Events.Name": "`Events.Name`",
    "Events.Attributes": "`Events.Attributes`",
    "Links.TraceId": "`Links.TraceId`",
    "Links.SpanId": "`Links.SpanId`",
    "Links.TraceState": "`Links.TraceState`",
    "Links.Attributes": "`Links.Attributes`",
}
# Read when the table has them: the exporter's newer scope columns, and Spanhouse's extras.
OPTIONAL_COLUMNS: dict[str, str] = {
    "ScopeName": "ScopeName",
    "ScopeVersion": "ScopeVersion",
    "SpanAttributeTypes": "SpanAttributeTypes",
    "ResourceAttributeTypes": "ResourceAttributeTypes",
    "TraceFlags": "TraceFlags",
    "DroppedAttributesCount": "DroppedAttributesCount",
    "DroppedEventsCount": "DroppedEventsCount",
    "DroppedLinksCount": "DroppedLinksCount",
    "AdjustedCount": "AdjustedCount",
    "SamplingPolicy": "SamplingPolicy",
    "Events.AttributeTypes": "`Events.AttributeTypes`",
    "Events.DroppedAttributesCount": "`Events.DroppedAttributesCount`",
    "Links.AttributeTypes": "`Links.AttributeTypes`",
    "Links.Flags": "`Links.Flags`",
    "Links.DroppedAttributesCount": "`Links.DroppedAttributesCount`",
}
# Exporter releases without ScopeName/ScopeVersion columns put the scope in the span attributes.
SCOPE_NAME_ATTR = "otel.scope.name"
SCOPE_VERSION_ATTR = "otel.scope.version"


def validate_trace_id(trace_id: str) -> str:
    """The stored (lower-case) form of a trace id given as 32 hex digits in any case, else
    ``InvalidInput``. (Jaeger's shortened ids are widened by the APIs, with
    ``spanhouse.model.ids.normalize_trace_id``, before they reach the store.)"""
    canonical = trace_id.lower() if isinstance(trace_id, str) else ""
    if not STORED_TRACE_ID_RE.fullmatch(canonical):
        shown = trace_id[:64] if isinstance(trace_id, str) else trace_id
        raise InvalidInput(f"trace id {shown!r} is not 32 hexadecimal characters")
    return canonical


class TraceReader:
    """Reads whole traces from ``database.table`` and its ``_trace_id_ts`` lookup table.

    - ``get_trace`` keeps ``Reader.get_trace``'s contract (``spanhouse.query.model``): the
      trace's spans ordered by start time then span id, [] when unknown, ``InvalidInput`` for
      a malformed id, ``StoreError`` (retryable) when the store fails. ``get_traces`` reads
      several traces found by a search in one query.
    - It sees every span whose INSERT has completed (``TraceWriter.write`` returned).
    - A span written twice (writes are not idempotent) is returned twice.
    - Returned records belong to the caller. A reader is thread-confined (one per thread; the
      query side borrows them from ``Pool``).
    """

    def __init__(self, client, database: str, table: str):
        self._client = client
        db = quote_identifier(database, "database name")
        traces = f"{db}.{quote_identifier(table, 'table name')}"
        id_ts = f"{db}.{quote_identifier(table + '_trace_id_ts', 'table name')}"
        columns = table_columns(client, database, table)
        if not columns:
            raise StoreError(f"table {database}.{table} does not exist (is create_schema off?)")
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise StoreError(f"table {database}.{table} is not a traces table: no {', '.join(missing)}")
        if not table_columns(client, database, table + "_trace_id_ts"):
            raise StoreError(f"table {database}.{table}_trace_id_ts does not exist "
                             "(the exporter's trace id lookup table)")
        self._names = list(REQUIRED_COLUMNS) + [n for n in OPTIONAL_COLUMNS if n in columns]
        expressions = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
        self._scope_in_attributes = "ScopeName" not in columns
        select = ", ".join(expressions[name] for name in self._names)
        self._sql = GET_TRACE_SQL.format(id_ts=id_ts, traces=traces, columns=select)
        self._many_sql = GET_TRACES_SQL.format(id_ts=id_ts, traces=traces, columns=select)

    @property
    def sql(self) -> str:
        """The query ``get_trace`` runs (with its ``{trace_id:String}`` parameter)."""
        return self._sql

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        trace_id = validate_trace_id(trace_id)
        try:
            result = self._client.query(self._sql, parameters={"trace_id": trace_id})
            rows = result.result_rows
        except Exception as exc:  # driver errors -> our retryable error
            raise StoreError(f"reading trace {trace_id} failed: {exc}") from exc
        names = self._names
        return [self._record(dict(zip(names, row))) for row in rows]

    def get_traces(self, trace_ids: list[str]) -> dict[str, list[SpanRecord]]:
        """The spans of each of ``trace_ids`` (as stored, e.g. ``TraceSummary.trace_id``), per
        trace id, ordered by start time then span id; a trace the store has not got is left
        out. ``StoreError`` when the store fails."""
        ids = list(trace_ids)
        if not ids:
            return {}
        try:
            rows = self._client.query(self._many_sql, parameters={"ids": ids}).result_rows
        except Exception as exc:  # driver errors -> our retryable error
            raise StoreError(f"reading {len(ids)} traces failed: {exc}") from exc
        names = self._names
        out: dict[str, list[SpanRecord]] = {}
        for row in rows:
            record = self._record(dict(zip(names, row)))
            out.setdefault(record.trace_id, []).append(record)
        return out

    def _record(self, r: dict[str, Any]) -> SpanRecord:
        attributes = typed_attributes(r["SpanAttributes"], r.get("SpanAttributeTypes"))
        if self._scope_in_attributes:
            scope_name = str(attributes.pop(SCOPE_NAME_ATTR, ""))
            scope_version = str(attributes.pop(SCOPE_VERSION_ATTR, ""))
        else:
            scope_name, scope_version = r["ScopeName"], r["ScopeVersion"]

        names = r["Events.Name"]
        n = len(names)
        ev_types = r.get("Events.AttributeTypes") or [None] * n
        ev_dropped = r.get("Events.DroppedAttributesCount") or [0] * n
        events = tuple(
            EventRecord(int(t), name, typed_attributes(attrs, types), int(dropped))
            for t, name, attrs, types, dropped in zip(
                r["Events.Timestamp"], names, r["Events.Attributes"], ev_types, ev_dropped))

        span_ids = r["Links.SpanId"]
        n = len(span_ids)
        ln_types = r.get("Links.AttributeTypes") or [None] * n
        ln_flags = r.get("Links.Flags") or [0] * n
        ln_dropped = r.get("Links.DroppedAttributesCount") or [0] * n
        links = tuple(
            LinkRecord(tid, sid, state, typed_attributes(attrs, types), int(flags), int(dropped))
            for tid, sid, state, attrs, types, flags, dropped in zip(
                r["Links.TraceId"], span_ids, r["Links.TraceState"], r["Links.Attributes"],
                ln_types, ln_flags, ln_dropped))

        return SpanRecord(
            trace_id=r["TraceId"],
            span_id=r["SpanId"],
            parent_span_id=r["ParentSpanId"],
            trace_state=r["TraceState"],
            flags=int(r.get("TraceFlags", 0)),
            name=r["SpanName"],
            kind=parse_span_kind(r["SpanKind"]),
            service_name=r["ServiceName"],
            start_ns=int(r["Timestamp"]),
            duration_ns=max(int(r["Duration"]), 0),
            status_code=parse_status_code(r["StatusCode"]),
            status_message=r["StatusMessage"],
            attributes=attributes,
            resource_attributes=typed_attributes(r["ResourceAttributes"],
                                                 r.get("ResourceAttributeTypes")),
            scope_name=scope_name,
            scope_version=scope_version,
            events=events,
            links=links,
            dropped_attributes_count=int(r.get("DroppedAttributesCount", 0)),
            dropped_events_count=int(r.get("DroppedEventsCount", 0)),
            dropped_links_count=int(r.get("DroppedLinksCount", 0)),
            adjusted_count=float(r.get("AdjustedCount", 1.0)),
            sampling_policy=r.get("SamplingPolicy", ""),
        )

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing is best effort
            pass
