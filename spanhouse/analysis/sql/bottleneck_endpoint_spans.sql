-- Endpoint bottlenecks, step 2: the spans of the chosen traces in one query, only the columns
-- the critical path needs. The trace id lookup table bounds the Timestamp range (partition
-- and primary key pruning); the TraceId bloom filter picks the granules. ${weight} is the
-- span's AdjustedCount (1 on a table without the column): a trace's weight is its root's.
WITH
    (SELECT min(Start) FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS lo,
    (SELECT max(End) + 1 FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS hi
SELECT TraceId, SpanId, ParentSpanId, toString(ServiceName), SpanName, toString(SpanKind),
       toUnixTimestamp64Nano(Timestamp), toInt64(Duration), toFloat64(${weight})
FROM ${traces}
PREWHERE TraceId IN {ids:Array(String)} AND Timestamp >= lo AND Timestamp <= hi
