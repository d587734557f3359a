-- errors_by_service on {table}_entry_error_spans (entry and error spans only, IsError/IsEntry
-- precomputed with the same tests as ${is_error}/${is_entry}): same columns and meaning as
-- errors_by_service.sql. The error-only parts (distinct traces, origins) read the IsError = 1
-- range of the ORDER BY (IsError, Timestamp) key; the request counts read small columns only.
SELECT
    service,
    e.error_spans, e.error_traces,
    r.requests, r.error_requests, e.estimated_error_spans, r.estimated_requests,
    r.estimated_error_requests, e.origin_spans
FROM (
    SELECT toString(ServiceName) AS service,
           count() AS error_spans,
           uniqExact(TraceId) AS error_traces,
           sum(Weight) AS estimated_error_spans,
           countIf(cityHash64(TraceId, SpanId) NOT IN (
               SELECT cityHash64(TraceId, ParentSpanId)
               FROM ${entry_error}
               PREWHERE IsError = 1 AND ${window} AND ParentSpanId != '')) AS origin_spans
    FROM ${entry_error}
    PREWHERE IsError = 1 AND ${window}
    GROUP BY service
) AS e
INNER JOIN (
    SELECT toString(ServiceName) AS service,
           countIf(IsEntry = 1) AS requests,
           countIf(IsEntry = 1 AND IsError = 1) AS error_requests,
           sumIf(Weight, IsEntry = 1) AS estimated_requests,
           sumIf(Weight, IsEntry = 1 AND IsError = 1) AS estimated_error_requests
    FROM ${entry_error}
    PREWHERE ${window}
    GROUP BY service
) AS r USING service
ORDER BY e.error_spans DESC, service
