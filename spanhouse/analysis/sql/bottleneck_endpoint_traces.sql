-- Endpoint bottlenecks, step 1: the endpoint's most recent traces in the window.
-- An endpoint is a root span (ParentSpanId = '') of {service:String} named {operation:String};
-- the primary key (ServiceName, SpanName, toDateTime(Timestamp)) makes this a range read.
-- At most {limit:UInt32} rows, newest first (the caller dedupes repeated trace ids).
SELECT TraceId, toUnixTimestamp64Nano(Timestamp) AS start_ns
FROM ${traces}
WHERE ServiceName = {service:String} AND SpanName = {operation:String}
  AND ${window} AND ParentSpanId = ''
ORDER BY Timestamp DESC, TraceId
LIMIT {limit:UInt32}
