-- find_traces: the spans of the found traces in one query (same bounds as trace_summaries).
-- ${columns} are the fixed column expressions of spanhouse.store.reader (the table's columns).
WITH
    (SELECT min(Start) FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS lo,
    (SELECT max(End) + 1 FROM ${id_ts} WHERE TraceId IN {ids:Array(String)}) AS hi
SELECT ${columns}
FROM ${traces}
PREWHERE TraceId IN {ids:Array(String)} AND Timestamp >= lo AND Timestamp <= hi
ORDER BY TraceId, Timestamp, SpanId
