-- dependencies: child spans joined to their parent spans, both in the window, where the
-- services differ. Hash join on UInt64 keys (cityHash64(TraceId, ParentSpanId) =
-- cityHash64(TraceId, SpanId)) rather than on two strings: a smaller, faster hash table. The
-- child side holds only spans with a parent; status Error counts as an error call.
SELECT
    toString(parent.ServiceName) AS parent_service,
    toString(child.ServiceName) AS child_service,
    count() AS call_count,
    countIf(child.is_err) AS error_count
FROM (
    SELECT cityHash64(TraceId, ParentSpanId) AS k, ServiceName, ${is_error} AS is_err
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
