-- Search, step 2 on the per-trace summary table ({table}_trace_summary, an
-- AggregatingMergeTree keyed by TraceId): a primary key lookup of the candidate ids instead of
-- reading every span of those traces. Rows of one trace not merged yet are merged here (GROUP
-- BY TraceId). Same columns and conventions as trace_summaries.sql: Root is the earliest root
-- span's (service, operation, duration, weight), else the earliest span's; the duration is
-- the root's, else last span end (End) - first span start. Root is the tuple (not a root,
-- Timestamp, SpanId, service, operation, duration, weight).
SELECT
    TraceId,
    root.1 = 0 AS has_root,
    root.4 AS root_service,
    root.5 AS root_operation,
    start_ns,
    if(has_root, toInt64(root.6), end_ns - start_ns) AS duration_ns,
    span_count,
    error_count,
    services,
    root.7 AS estimated_count
FROM (
    SELECT
        TraceId,
        min(Root) AS root,
        toUnixTimestamp64Nano(min(Start)) AS start_ns,
        max(End) AS end_ns,
        sum(SpanCount) AS span_count,
        sum(ErrorCount) AS error_count,
        arraySort(groupUniqArrayArray(Services)) AS services
    FROM ${summary}
    WHERE TraceId IN {ids:Array(String)}
    GROUP BY TraceId
)
