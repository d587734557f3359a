-- Endpoint bottlenecks: how many traces of the endpoint the window holds (asked only when
-- step 1 hit its cap, to say how many were left out).
SELECT uniqExact(TraceId)
FROM ${traces}
WHERE ServiceName = {service:String} AND SpanName = {operation:String}
  AND ${window} AND ParentSpanId = ''
