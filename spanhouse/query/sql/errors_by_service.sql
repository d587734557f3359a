-- errors_by_service: per service, over the window (PREWHERE on Timestamp, then only the rows
-- that are errors or entry spans: StatusCode/SpanKind/ParentSpanId are small columns).
-- Entry span = kind Server/Consumer (either spelling) or a root span; ${weight} is
-- AdjustedCount (1 on an exporter-created table). An error span is an *origin* when no error
-- span of the window has it as parent: the set of cityHash64(TraceId, ParentSpanId) of the
-- window's error spans is built once (error spans only: small) and probed with
-- cityHash64(TraceId, SpanId) (UInt64 keys instead of string pairs).
SELECT
    toString(ServiceName) AS service,
    countIf(is_err) AS error_spans,
    uniqExactIf(TraceId, is_err) AS error_traces,
    countIf(is_entry) AS requests,
    countIf(is_entry AND is_err) AS error_requests,
    sumIf(w, is_err) AS estimated_error_spans,
    sumIf(w, is_entry) AS estimated_requests,
    sumIf(w, is_entry AND is_err) AS estimated_error_requests,
    countIf(is_err AND cityHash64(TraceId, SpanId) NOT IN (
        SELECT cityHash64(TraceId, ParentSpanId)
        FROM ${traces}
        PREWHERE ${window} AND ${is_error} AND ParentSpanId != '')) AS origin_spans
FROM (
    SELECT ServiceName, TraceId, SpanId, ${is_error} AS is_err, ${is_entry} AS is_entry,
           toFloat64(${weight}) AS w
    FROM ${traces}
    PREWHERE ${window} AND (${is_error} OR ${is_entry})
)
GROUP BY ServiceName
HAVING error_spans > 0
ORDER BY error_spans DESC, service
