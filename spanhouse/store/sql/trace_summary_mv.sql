-- spanhouse addition: fills {table}_trace_summary from every insert into {table} (one row per
-- trace per insert block). The error test is spanhouse.query.sqlutil.IS_ERROR (kept equal by
-- tests/store/test_schema_additions.py).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_trace_summary_mv
TO {database}.{table}_trace_summary
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) AS End,
    min((toUInt8(ParentSpanId != ''), Timestamp, SpanId, toString(ServiceName), toString(SpanName),
         Duration, toFloat64(AdjustedCount))) AS Root,
    toUInt64(count()) AS SpanCount,
    toUInt64(countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR'))) AS ErrorCount,
    groupUniqArray(toString(ServiceName)) AS Services
FROM {database}.{table}
WHERE TraceId != ''
GROUP BY TraceId
