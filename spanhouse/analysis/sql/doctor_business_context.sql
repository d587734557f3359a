-- doctor: per service, its entry spans in the window (SERVER/CONSUMER or roots) and those
-- carrying none of the business keys {keys} (as a span or a resource attribute), with up to
-- 5 example trace ids of the latter.
SELECT
    toString(ServiceName) AS service,
    count() AS entry_spans,
    countIf(NOT has_key) AS missing,
    groupArrayIf(5)(TraceId, NOT has_key) AS examples
FROM (
    SELECT ServiceName, TraceId,
           hasAny(SpanAttributes.keys, {keys:Array(String)})
           OR hasAny(ResourceAttributes.keys, {keys:Array(String)}) AS has_key
    FROM ${traces}
    PREWHERE ${window} AND ${is_entry}
)
GROUP BY service
ORDER BY service
