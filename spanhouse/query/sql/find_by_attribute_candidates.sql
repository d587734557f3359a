-- find_by_attribute, step 1: traces with a span whose attribute (or resource attribute) {key}
-- equals {value}, in the window at ± window, nearest matching span first. The map lookups
-- run after the window PREWHERE; the bloom filter skip indexes on mapKeys/mapValues prune
-- granules that cannot hold the key or the value.
SELECT TraceId
FROM ${traces}
PREWHERE ${window}
WHERE (mapContains(SpanAttributes, {key:String}) AND SpanAttributes[{key:String}] = {value:String})
   OR (mapContains(ResourceAttributes, {key:String}) AND ResourceAttributes[{key:String}] = {value:String})
GROUP BY TraceId
ORDER BY min(abs(toUnixTimestamp64Nano(Timestamp) - {at:Int64})), TraceId
LIMIT {trace_limit:UInt32}
