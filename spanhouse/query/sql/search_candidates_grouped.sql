-- Search, step 1 (sorts "most_spans" and "most_errors"): candidate trace ids ranked by a
-- per-trace count over the matching spans of the window (${key}: count() or countIf(error)).
SELECT TraceId
FROM ${traces}
PREWHERE ${window}${span_prewhere}
WHERE 1${span_where}
GROUP BY TraceId
ORDER BY ${key} DESC, max(Timestamp) DESC, TraceId
LIMIT {trace_limit:UInt32}
