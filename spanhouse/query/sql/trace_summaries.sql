-- Search, step 2: one summary row per candidate trace, over ALL the spans of those traces.
-- {ids:Array(String)} holds the candidate trace ids; the trace id lookup table bounds the
-- Timestamp range (partition and primary key pruning) and the TraceId bloom filter picks the
-- granules. Root = ParentSpanId = '' (the earliest root, when a trace has several).
-- Duration: the root's, else last span end - first span start. Estimated count: the root's
-- weight, else the earliest span's.
WITH
    (SELECT min(Start) FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS lo,
    (SELECT max(End) + 1 FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS hi
SELECT
    TraceId,
    countIf(ParentSpanId = '') > 0 AS has_root,
    if(has_root, argMinIf(ServiceName, (Timestamp, SpanId), ParentSpanId = ''),
       argMin(ServiceName, (Timestamp, SpanId))) AS root_service,
    if(has_root, argMinIf(SpanName, (Timestamp, SpanId), ParentSpanId = ''),
       argMin(SpanName, (Timestamp, SpanId))) AS root_operation,
    toUnixTimestamp64Nano(min(Timestamp)) AS start_ns,
    if(has_root, toInt64(argMinIf(Duration, (Timestamp, SpanId), ParentSpanId = '')),
       max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) - start_ns) AS duration_ns,
    count() AS span_count,
    countIf(${is_error}) AS error_count,
    arraySort(groupUniqArray(toString(ServiceName))) AS services,
    toFloat64(if(has_root, argMinIf(${weight}, (Timestamp, SpanId), ParentSpanId = ''),
       argMin(${weight}, (Timestamp, SpanId)))) AS estimated_count
FROM ${traces}
PREWHERE TraceId IN {ids:Array(String)} AND Timestamp >= lo AND Timestamp <= hi
GROUP BY TraceId
