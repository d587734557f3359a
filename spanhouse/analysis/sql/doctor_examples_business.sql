-- doctor: up to 5 example trace ids per service of {services} of entry spans carrying none of
-- the business keys {keys} in the window (asked only for the services a finding names, when
-- the counts came from the span stats).
SELECT toString(ServiceName) AS service, groupArray(5)(TraceId) AS examples
FROM ${traces}
PREWHERE ${window} AND ${is_entry} AND ServiceName IN {services:Array(String)}
WHERE NOT hasAny(SpanAttributes.keys, {keys:Array(String)})
    AND NOT hasAny(ResourceAttributes.keys, {keys:Array(String)})
GROUP BY service
