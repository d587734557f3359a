-- doctor: the shape of each trace of the window, reduced to its problems.
--   orphan     a span whose parent span never arrived: ParentSpanId set, no span of that
--              (TraceId, SpanId) within the wider lookup window ${wide} (the window plus a
--              margin either side, so a parent just outside the window is still found). Only
--              spans that started before {settled} count (a parent still in flight has not
--              been exported yet);
--   multi_root a trace with more than one root span (ParentSpanId = '');
--   huge       a trace with more than {huge} spans in the window.
-- UInt64 keys (cityHash64(TraceId, SpanId)) instead of string pairs for the parent set.
-- Each problem is found on the few rows that can have it before anything is grouped by trace
-- (no per-trace aggregate of strings over every span of the window): the orphan spans (one
-- anti-join), the root spans, and the traces counted over the limit (grouped by
-- cityHash64(TraceId): a number groups much faster than the id; a collision merges two
-- traces, about once in 2^32 pairs).
-- One row per (problem, service): the services of the orphans, of the roots, or the trace's
-- first root; with the number of traces and up to 5 example trace ids.
SELECT
    problem,
    service,
    count() AS traces,
    max(n) AS max_spans,
    groupArray(5)(TraceId) AS examples
FROM (
    SELECT 'orphan' AS problem, service, TraceId, toUInt64(0) AS n
    FROM (
        SELECT TraceId, toString(ServiceName) AS service
        FROM ${traces}
        PREWHERE ${window} AND ParentSpanId != ''
            AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
        WHERE cityHash64(TraceId, ParentSpanId) NOT IN (
            SELECT cityHash64(TraceId, SpanId) FROM ${traces} PREWHERE ${wide})
    )
    GROUP BY TraceId, service
    UNION ALL
    SELECT 'multi_root' AS problem, arrayJoin(services) AS service, TraceId, toUInt64(0) AS n
    FROM (
        SELECT TraceId, groupUniqArray(toString(ServiceName)) AS services
        FROM ${traces}
        PREWHERE ${window} AND ParentSpanId = ''
        GROUP BY TraceId
        HAVING count() > 1
    )
    UNION ALL
    SELECT 'huge' AS problem, first_service AS service, trace AS TraceId, n
    FROM (
        SELECT cityHash64(TraceId) AS h, toUInt64(count()) AS n, any(TraceId) AS trace,
               argMin(toString(ServiceName), (ParentSpanId != '', Timestamp)) AS first_service
        FROM ${traces}
        PREWHERE ${window}
        GROUP BY h
        HAVING n > {huge:UInt64}
    )
)
GROUP BY problem, service
ORDER BY problem, traces DESC, service
