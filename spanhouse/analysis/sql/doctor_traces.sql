-- doctor: the shape of each trace of the window, reduced to its problems.
--   orphan     a span whose parent span never arrived: ParentSpanId set, no span of that
--              (TraceId, SpanId) within the wider lookup window ${wide} (the window plus a
--              margin either side, so a parent just outside the window is still found). Only
--              spans that started before {settled} count (a parent still in flight has not
--              been exported yet);
--   multi_root a trace with more than one root span (ParentSpanId = '');
--   huge       a trace with more than {huge} spans in the window.
-- UInt64 keys (cityHash64(TraceId, SpanId)) instead of string pairs for the parent set.
-- One row per (problem, service): the services of the orphans, of the roots, or the trace's
-- first root; with the number of traces and up to 5 example trace ids.
SELECT
    p.1 AS problem,
    p.2 AS service,
    count() AS traces,
    max(n) AS max_spans,
    groupArray(5)(TraceId) AS examples
FROM (
    SELECT
        TraceId,
        count() AS n,
        countIf(ParentSpanId = '') AS roots,
        countIf(orphan) AS orphans,
        groupUniqArrayIf(service, orphan) AS orphan_services,
        groupUniqArrayIf(service, ParentSpanId = '') AS root_services,
        argMin(service, (ParentSpanId != '', Timestamp)) AS first_service
    FROM (
        SELECT
            TraceId, ParentSpanId, Timestamp, toString(ServiceName) AS service,
            ParentSpanId != ''
                AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
                AND cityHash64(TraceId, ParentSpanId) NOT IN (
                    SELECT cityHash64(TraceId, SpanId) FROM ${traces} PREWHERE ${wide}) AS orphan
        FROM ${traces}
        PREWHERE ${window}
    )
    GROUP BY TraceId
    HAVING n > {huge:UInt64} OR roots > 1 OR orphans > 0
)
ARRAY JOIN arrayConcat(
    if(n > {huge:UInt64}, [tuple('huge', first_service)], []),
    arrayMap(s -> tuple('orphan', s), orphan_services),
    if(roots > 1, arrayMap(s -> tuple('multi_root', s), root_services), [])) AS p
GROUP BY problem, service
ORDER BY problem, traces DESC, service
