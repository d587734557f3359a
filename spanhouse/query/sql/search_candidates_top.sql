-- Search, step 1 (sorts "recent" and "slowest"): candidate trace ids, by top-K span scans.
-- Two bounded top-K scans over the window, each an ORDER BY ... LIMIT (a heap, no full sort):
--   1. spans matching the span-level filters (and the attribute filters' trace set);
--   2. root spans (ParentSpanId = '') of traces that have such a span: a root's start and
--      duration are the trace's, so this part ranks whole traces exactly (and applies the
--      trace-level duration range directly to the root's Duration).
-- ${key} is Timestamp (recent) or Duration (slowest). The union is reduced to distinct traces.
-- ${roots} is the root spans' source: the traces table with ParentSpanId = '', or Spanhouse's
-- {table}_entry_error_spans with IsRoot = 1 (the same rows, in a table a tenth the size).
SELECT TraceId
FROM (
    SELECT TraceId, k FROM (
        SELECT TraceId, ${key} AS k
        FROM ${traces}
        PREWHERE ${window}${span_prewhere}
        WHERE 1${span_where}
        ORDER BY k DESC
        LIMIT {span_limit:UInt32}
    )
    UNION ALL
    SELECT TraceId, k FROM (
        SELECT TraceId, ${key} AS k
        FROM ${roots}${root_prewhere}
        WHERE 1${root_where}
        ORDER BY k DESC
        LIMIT {span_limit:UInt32}
    )
)
GROUP BY TraceId
ORDER BY max(k) DESC, TraceId
LIMIT {trace_limit:UInt32}
