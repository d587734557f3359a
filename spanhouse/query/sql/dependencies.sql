-- dependencies: child spans joined to their parent spans, both in the window, where the
-- services differ. Hash join on UInt64 keys (cityHash64(TraceId, ParentSpanId) =
-- cityHash64(TraceId, SpanId)) rather than on two strings: a smaller, faster hash table. The
-- child side holds only spans with a parent; status Error counts as an error call. Each call
-- stands for ${weight} calls (the child span's AdjustedCount; 1 on a table without it): the
-- estimates are sums of the weights, the latencies weighted quantiles of the child span's
-- duration (quantilesExactWeighted takes whole weights: round(1000 * weight)).
SELECT
    toString(parent.ServiceName) AS parent_service,
    toString(child.ServiceName) AS child_service,
    count() AS call_count,
    countIf(child.is_err) AS error_count,
    sum(child.w) AS estimated_calls,
    sumIf(child.w, child.is_err) AS estimated_errors,
    quantilesExactWeighted(0.5, 0.95)(child.d, toUInt64(round(1000 * child.w))) AS q
FROM (
    SELECT cityHash64(TraceId, ParentSpanId) AS k, ServiceName, ${is_error} AS is_err,
           toFloat64(${weight}) AS w, toFloat64(Duration) AS d
    FROM ${traces}
    PREWHERE ${window} AND ParentSpanId != ''
) AS child
INNER JOIN (
    SELECT cityHash64(TraceId, SpanId) AS k, ServiceName
    FROM ${traces}
    PREWHERE ${window}
) AS parent ON child.k = parent.k
WHERE parent.ServiceName != child.ServiceName
GROUP BY parent_service, child_service
ORDER BY parent_service, child_service
