"""Trace search: ``search``, ``slowest`` and ``find_by_attribute`` (``find_traces`` is ``search``
then ``spanhouse.store.reader.TraceReader.get_traces``).

Every query runs in two steps, so the expensive per-trace aggregation only ever touches a
bounded set of traces:

1. **Candidates** (``sql/search_candidates_*.sql``, ``sql/find_by_attribute_candidates.sql``):
   trace ids, with a ``LIMIT``. The window on ``Timestamp`` comes first (``PREWHERE``), so
   partitions (``toDate(Timestamp)``) and the primary key's ``toDateTime(Timestamp)`` prune;
   a service/operation filter narrows the primary key further (``ORDER BY (ServiceName,
   SpanName, ...)``). Cheap span-level filters (service, operation, status, span duration)
   join the ``PREWHERE``; the map lookups of attribute filters stay in ``WHERE`` so the big
   map columns are read only for the rows that survive (and the mapKeys/mapValues bloom filter
   indexes skip granules). Attribute filters are trace-level (each may match any span of the
   trace, ANDed): a ``GROUP BY TraceId HAVING countIf(filter_i) > 0 ...`` subquery.

   For the sorts ``recent`` and ``slowest`` the candidates come from two top-K scans (ORDER
   BY a span column LIMIT K, a heap rather than a sort or a GROUP BY over the window): the
   matching spans themselves, and the root spans of traces that have a matching span (a root
   carries its trace's start and duration, and takes the trace-level duration range). For
   ``most_spans``/``most_errors`` the matching spans are grouped per trace.

2. **Summaries** (``sql/trace_summaries.sql``): the candidate ids are bound as one
   ``{ids:Array(String)}`` parameter; the ``_trace_id_ts`` lookup table bounds ``Timestamp``
   and the ``TraceId`` bloom filter picks granules; every span of those traces is aggregated
   (root service/operation, start, duration per the model's convention, counts, services,
   estimated count). The exact sort, the trace-level duration range and the limit are then
   applied to these exact values.

With Spanhouse's schema additions (``sqlutil.Tables``; absent on an exporter-created table, where
the SQL above runs unchanged):

- step 2 reads the per-trace summary table (``sql/trace_summaries_agg.sql``): a primary key
  lookup of the candidate ids in an AggregatingMergeTree keyed by ``TraceId`` instead of every
  span of those traces (whose ``TraceId`` bloom filter must be probed in every granule of
  their time range, and whose spans lie in as many granules as they have services and names);
- the root spans of step 1 are read from ``{table}_entry_error_spans`` (``IsRoot = 1``: entry
  and error spans only, a tenth of the spans) rather than by testing every span's
  ``ParentSpanId``;
- an ``eq`` attribute filter (key and value up to ``MAX_INDEXED_BYTES``) becomes ``TraceId IN
  (the attribute index's key = value rows in the window)``, one primary key range of
  ``{table}_attributes`` instead of the map columns of every span of the window; ``exists`` and
  ``regex`` filters keep the scan above. ``find_by_attribute`` reads the index the same way
  (``sql/find_by_attribute_indexed.sql``).

Both give the same rows as the fallback: the views see every insert into the traces table.

Step 1 over-fetches (``candidate_limit``) so that the exact order of step 2 rarely differs
from what a full scan would give; the remaining approximation is documented on ``search``.
"""

from __future__ import annotations

from typing import Any

from spanhouse.errors import InvalidInput
from spanhouse.query.model import (
    MAX_LIMIT, SORTS, STATUSES, AttributeFilter, SearchQuery, TraceSummary,
)
from spanhouse.query.sqlutil import (
    INT64_MAX, IS_ERROR, STATUS_SPELLINGS, Tables, check_limit, check_ns, check_text,
    check_window, render, run,
)

ATTRIBUTE_OPS = ("eq", "exists", "regex")
SPAN_LIMIT_FACTOR = 8            # spans fetched per candidate trace in a top-K scan


def candidate_limit(limit: int) -> int:
    """How many candidate traces step 1 returns for a result of ``limit`` traces."""
    return min(limit * 2 + 20, limit + 1000)


# ------------------------------------------------------------------------------ filters
def _attribute_condition(i: int, f: AttributeFilter, params: dict[str, Any]) -> str:
    """The SQL condition of attribute filter ``i`` (its key/value bound as ``ak{i}``/``av{i}``)."""
    if not isinstance(f, AttributeFilter):
        raise InvalidInput(f"attribute filter {i} is not an AttributeFilter")
    if f.op not in ATTRIBUTE_OPS:
        raise InvalidInput(f"attribute filter {i}: op must be one of {', '.join(ATTRIBUTE_OPS)}")
    params[f"ak{i}"] = check_text(f.key, f"attribute filter {i} key", empty=False)
    k = f"{{ak{i}:String}}"
    if f.op == "exists":
        return f"(mapContains(SpanAttributes, {k}) OR mapContains(ResourceAttributes, {k}))"
    params[f"av{i}"] = check_text(f.value, f"attribute filter {i} value", empty=f.op == "eq")
    v = f"{{av{i}:String}}"
    test = "{m}[{k}] = {v}" if f.op == "eq" else "match({m}[{k}], {v})"
    parts = [f"(mapContains({m}, {k}) AND {test.format(m=m, k=k, v=v)})"
             for m in ("SpanAttributes", "ResourceAttributes")]
    return f"({parts[0]} OR {parts[1]})"


def _attribute_trace_set(tables: Tables, attributes, params: dict[str, Any]) -> str:
    """``TraceId IN (traces that match every attribute filter in the window)``, or ''.

    Filters the attribute index can answer (``eq``, short key and value) are one ``TraceId IN
    (index range)`` each; the others share one scan of the traces table's map columns."""
    if not attributes:
        return ""
    if not isinstance(attributes, (tuple, list)):
        raise InvalidInput("attributes must be a sequence of AttributeFilter")
    conditions = [_attribute_condition(i, f, params) for i, f in enumerate(attributes)]
    window = tables.fragments["window"]
    sets, scanned = [], []
    for i, (f, condition) in enumerate(zip(attributes, conditions)):
        if f.op == "eq" and tables.indexed(f.key, f.value):
            sets.append(f"TraceId IN (SELECT TraceId FROM {tables.attributes} PREWHERE "
                        f"Key = {{ak{i}:String}} AND Value = {{av{i}:String}} AND {window})")
        else:
            scanned.append(condition)
    if scanned:
        having = " AND ".join(f"countIf({c}) > 0" for c in scanned)
        sets.append(f"TraceId IN (SELECT TraceId FROM {tables.traces} PREWHERE {window} "
                    f"WHERE {' OR '.join(scanned)} GROUP BY TraceId HAVING {having})")
    return " AND ".join(sets)


def check_regexes(client, attributes) -> None:
    """Compile every regex filter's pattern in the store (RE2) once, up front: a pattern that
    RE2 refuses is ``InvalidInput`` even when no row would have reached ``match``."""
    patterns = [f.value for f in attributes or ()
                if isinstance(f, AttributeFilter) and f.op == "regex" and isinstance(f.value, str)]
    if patterns:
        sql = "SELECT " + ", ".join(f"match('', {{r{i}:String}})" for i in range(len(patterns)))
        run(client, sql, {f"r{i}": p for i, p in enumerate(patterns)}, "regular expression")


def _optional_ns(value, what: str) -> int | None:
    return None if value is None else check_ns(value, what)


def validate_query(q: SearchQuery) -> SearchQuery:
    if not isinstance(q, SearchQuery):
        raise InvalidInput("query must be a SearchQuery")
    check_window(q.start_ns, q.end_ns)
    check_limit(q.limit)
    if q.sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}, not {q.sort!r}")
    if q.status is not None and q.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {q.status!r}")
    for name in ("service", "operation"):
        value = getattr(q, name)
        if value is not None:
            check_text(value, name)
    for lo, hi, what in ((q.span_min_duration_ns, q.span_max_duration_ns, "span duration"),
                         (q.trace_min_duration_ns, q.trace_max_duration_ns, "trace duration")):
        lo, hi = _optional_ns(lo, f"minimum {what}"), _optional_ns(hi, f"maximum {what}")
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInput(f"minimum {what} ({lo}) is above the maximum ({hi})")
    return q


def _span_filters(q: SearchQuery, params: dict[str, Any]) -> list[str]:
    """Span-level conditions (service, operation, status, span duration): cheap columns."""
    conditions = []
    if q.service is not None:
        params["service"] = q.service
        conditions.append("ServiceName = {service:String}")
    if q.operation is not None:
        params["operation"] = q.operation
        conditions.append("SpanName = {operation:String}")
    if q.status is not None:
        params["status_codes"] = STATUS_SPELLINGS[q.status]
        conditions.append("StatusCode IN {status_codes:Array(String)}")
    if q.span_min_duration_ns is not None:
        params["span_min"] = q.span_min_duration_ns
        conditions.append("Duration >= {span_min:UInt64}")
    if q.span_max_duration_ns is not None:
        params["span_max"] = q.span_max_duration_ns
        conditions.append("Duration <= {span_max:UInt64}")
    return conditions


def _and(conditions: list[str]) -> str:
    return "".join(f" AND {c}" for c in conditions)


# ----------------------------------------------------------------------------- step 1
def candidate_sql(tables: Tables, q: SearchQuery, params: dict[str, Any]) -> str:
    """Step 1's SQL for ``q`` (filling ``params``); see the module docstring."""
    span_filters = _span_filters(q, params)
    span_pre = list(span_filters)
    trace_set = _attribute_trace_set(tables, q.attributes, params)
    span_where = [trace_set] if trace_set else []
    params["start"], params["end"] = q.start_ns, q.end_ns
    params["trace_limit"] = candidate_limit(q.limit)
    frag = tables.fragments
    if q.sort in ("most_spans", "most_errors"):
        key = "count()" if q.sort == "most_spans" else f"countIf({IS_ERROR})"
        return render("search_candidates_grouped.sql", **frag, key=key,
                      span_prewhere=_and(span_pre), span_where=_and(span_where))
    params["span_limit"] = params["trace_limit"] * SPAN_LIMIT_FACTOR
    root_pre, root_where = [], []
    if q.trace_min_duration_ns is not None:
        params["trace_min"] = q.trace_min_duration_ns
        root_pre.append("Duration >= {trace_min:UInt64}")
    if q.trace_max_duration_ns is not None:
        params["trace_max"] = q.trace_max_duration_ns
        root_pre.append("Duration <= {trace_max:UInt64}")
        # a trace without root lasts at least as long as each of its spans
        span_pre = span_pre + ["Duration <= {trace_max:UInt64}"]
    if span_filters or trace_set:
        matching = (f"SELECT TraceId FROM {tables.traces} PREWHERE {frag['window']}"
                    f"{_and(span_filters)}"
                    + (f" WHERE {trace_set}" if trace_set else ""))
        root_where.append(f"TraceId IN ({matching})")
    key = "Timestamp" if q.sort == "recent" else "Duration"
    return render("search_candidates_top.sql", **frag, key=key, roots=tables.roots,
                  span_prewhere=_and(span_pre), span_where=_and(span_where),
                  root_prewhere=_and(root_pre), root_where=_and(root_where))


# ----------------------------------------------------------------------------- step 2
def summaries(client, tables: Tables, trace_ids: list[str]) -> dict[str, TraceSummary]:
    """Exact summaries of ``trace_ids`` (a trace unknown to the store is left out)."""
    if not trace_ids:
        return {}
    sql = render("trace_summaries_agg.sql" if tables.summary else "trace_summaries.sql",
                 **tables.fragments)
    rows = run(client, sql, {"ids": list(trace_ids)}, "trace summaries")
    out = {}
    for (trace_id, _has_root, service, operation, start, duration, spans, errors, services,
         estimated) in rows:
        out[trace_id] = TraceSummary(
            trace_id=trace_id, root_service=service, root_operation=operation,
            start_ns=int(start), duration_ns=max(int(duration), 0), span_count=int(spans),
            error_count=int(errors), services=tuple(services), estimated_count=float(estimated))
    return out


def _sort_key(sort: str):
    if sort == "slowest":
        return lambda s: (-s.duration_ns, -s.start_ns, s.trace_id)
    if sort == "most_spans":
        return lambda s: (-s.span_count, -s.start_ns, s.trace_id)
    if sort == "most_errors":
        return lambda s: (-s.error_count, -s.start_ns, s.trace_id)
    return lambda s: (-s.start_ns, s.trace_id)


def search(client, tables: Tables, q: SearchQuery, *, started_in_window: bool = False
           ) -> list[TraceSummary]:
    """Traces with a span in ``[start_ns, end_ns]`` matching the span-level filters (service,
    operation, status and span duration on one span) and, for each attribute filter, some
    span of the trace matching it; trace-level durations on the whole trace. Sorted by
    ``q.sort`` (ties: most recent first, then trace id), at most ``q.limit``.

    Approximation: step 1 keeps ``candidate_limit(limit)`` traces, ranked by the matching
    spans and the roots; a root-less trace (or one whose root lies outside the window) is
    ranked by its matching spans only, so with more than that many matching traces one of
    those may be missed. Rooted traces are ranked exactly.
    """
    validate_query(q)
    params: dict[str, Any] = {}
    sql = candidate_sql(tables, q, params)
    check_regexes(client, q.attributes)
    ids = [row[0] for row in run(client, sql, params, "trace search")]
    found = list(summaries(client, tables, ids).values())
    lo, hi = q.trace_min_duration_ns, q.trace_max_duration_ns
    found = [s for s in found
             if (lo is None or s.duration_ns >= lo) and (hi is None or s.duration_ns <= hi)
             and (not started_in_window or q.start_ns <= s.start_ns <= q.end_ns)]
    found.sort(key=_sort_key(q.sort))
    return found[: q.limit]


def slowest(client, tables: Tables, start_ns: int, end_ns: int, service: str | None,
            operation: str | None, attributes, limit: int) -> list[TraceSummary]:
    """Traces that started in the window (earliest span), slowest first."""
    q = SearchQuery(start_ns=start_ns, end_ns=end_ns, service=service, operation=operation,
                    attributes=tuple(attributes or ()), limit=limit, sort="slowest")
    return search(client, tables, q, started_in_window=True)


def find_by_attribute(client, tables: Tables, key: str, value: str, at_ns: int, window_ns: int,
                      limit: int) -> list[TraceSummary]:
    """Traces with a span (or its resource) where ``key == value``, starting within
    ``at_ns ± window_ns``, nearest start to ``at_ns`` first (ties: trace id)."""
    check_text(key, "attribute key", empty=False)
    check_text(value, "attribute value")
    at, window = check_ns(at_ns, "at"), check_ns(window_ns, "window")
    limit = check_limit(limit)
    start, end = max(at - window, 0), min(at + window, INT64_MAX)
    params = {"key": key, "value": value, "at": at, "start": start, "end": end,
              "trace_limit": candidate_limit(limit)}
    sql = render("find_by_attribute_indexed.sql" if tables.indexed(key, value)
                 else "find_by_attribute_candidates.sql", **tables.fragments)
    ids = [row[0] for row in run(client, sql, params, "find by attribute")]
    found = [s for s in summaries(client, tables, ids).values() if start <= s.start_ns <= end]
    found.sort(key=lambda s: (abs(s.start_ns - at), s.start_ns, s.trace_id))
    return found[:limit]


__all__ = ["search", "slowest", "find_by_attribute", "summaries",
           "candidate_sql", "candidate_limit", "validate_query", "MAX_LIMIT"]
