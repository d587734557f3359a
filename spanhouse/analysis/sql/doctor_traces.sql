-- doctor: the shape of each trace of the window, reduced to its problems.
--   orphan     a span whose parent span never arrived: ParentSpanId set, no span of that
--              (TraceId, SpanId) within the wider lookup window ${wide} (the window plus a
--              margin either side, so a parent just outside the window is still found). Only
--              spans that started before {settled} count (a parent still in flight has not
--              been exported yet);
--   multi_root a trace with more than one root span (ParentSpanId = ''); ${roots} is the root
--              spans of the window: from the entry/error spans table when the store has it
--              (a time range of it holds only entry and error spans), else the traces table;
--   huge       a trace with more than {huge} spans in the window.
-- ${graph}: the span graph (ids as UInt64 hashes: SpanHash = cityHash64(TraceId, SpanId),
-- ParentHash, TraceHash; spanhouse/store/sql/span_graph_table.sql), or the same columns
-- computed from the traces table (spanhouse/store/sql/span_graph_columns.sql). One read of
-- the window's spans finds orphans and huge traces together: its spans grouped by TraceHash (a
-- number groups much faster than the id; a collision merges two traces, about once in 2^32
-- pairs), with their count and the services of their orphan spans (one anti-join against the
-- lookup window's span set); only the traces with a problem leave the group. The root spans
-- are read apart (${roots} is small).
-- One row per (problem, service): the services of the orphans, of the roots, or the trace's
-- first root; with the number of traces, stored and estimated (the sum of each trace's weight:
-- the largest Weight, AdjustedCount, of its spans; ${root_weight} for ${roots}), and up to 5
-- example trace ids.
SELECT
    problem,
    service,
    count() AS traces,
    sum(w) AS estimated,
    max(spans) AS max_spans,
    groupArray(5)(trace) AS examples
FROM (
    SELECT found.1 AS problem, found.2 AS service, trace, w,
           if(found.1 = 'huge', n, toUInt64(0)) AS spans
    FROM (
        SELECT TraceHash AS h, toUInt64(count()) AS n, any(TraceId) AS trace, max(Weight) AS w,
               argMin(toString(ServiceName), (ParentHash != 0, Timestamp)) AS first_service,
               groupUniqArrayIf(toString(ServiceName), orphan) AS orphan_services
        FROM (
            SELECT TraceHash, TraceId, ServiceName, ParentHash, Timestamp, Weight,
                   ParentHash != 0 AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
                   AND ParentHash NOT IN (SELECT SpanHash FROM ${graph} WHERE ${wide}) AS orphan
            FROM ${graph}
            WHERE ${window}
        )
        GROUP BY h
        HAVING n > {huge:UInt64} OR notEmpty(orphan_services)
    )
    ARRAY JOIN arrayConcat(arrayMap(s -> ('orphan', s), orphan_services),
                           if(n > {huge:UInt64}, [('huge', first_service)], [])) AS found
    UNION ALL
    SELECT 'multi_root' AS problem, arrayJoin(services) AS service, TraceId AS trace, w,
           toUInt64(0) AS spans
    FROM (
        SELECT TraceId, groupUniqArray(toString(ServiceName)) AS services,
               max(toFloat64(${root_weight})) AS w
        FROM ${roots}
        GROUP BY TraceId
        HAVING count() > 1
    )
)
GROUP BY problem, service
ORDER BY problem, traces DESC, service
