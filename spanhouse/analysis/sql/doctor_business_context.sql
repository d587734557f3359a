-- doctor: per service, its entry spans in the window (SERVER/CONSUMER or roots) and those
-- carrying none of the business keys {keys} (${entry_keys}: the keys of its span and resource
-- attributes), stored and estimated (sum of ${weight}, AdjustedCount), with up to 5 example
-- trace ids of the latter. ${spans}: see
-- doctor_window_spans.sql (the span graph holds only the ".id" keys, enough for those keys).
SELECT
    toString(ServiceName) AS service,
    count() AS entry_spans,
    countIf(NOT has_key) AS missing,
    sumIf(w, NOT has_key) AS missing_estimated,
    groupArrayIf(5)(TraceId, NOT has_key) AS examples
FROM (
    SELECT ServiceName, TraceId, toFloat64(${weight}) AS w,
           hasAny(${entry_keys}, {keys:Array(String)}) AS has_key
    FROM ${spans}
    PREWHERE ${window} AND ${is_entry}
)
GROUP BY service
ORDER BY service
