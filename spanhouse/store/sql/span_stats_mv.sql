-- spanhouse addition: fills {table}_span_stats from every insert into {table}. The error and
-- entry tests are spanhouse.query.sqlutil.IS_ERROR and IS_ENTRY (kept equal by
-- tests/store/test_schema_additions.py); a sampled error is an error span kept with an
-- adjusted count above 1 (doctor_policies.sql).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_span_stats_mv
TO {database}.{table}_span_stats
AS SELECT
    toStartOfMinute(Timestamp) AS Minute,
    ServiceName,
    SpanName,
    SamplingPolicy,
    toUInt8(SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER') OR ParentSpanId = '') AS IsEntry,
    if(IsEntry = 1,
       arraySort(arrayDistinct(arrayFilter(k -> endsWith(k, '.id'),
           arrayConcat(mapKeys(SpanAttributes), mapKeys(ResourceAttributes))))),
       []) AS EntryKeys,
    toUInt64(count()) AS Spans,
    sum(toFloat64(AdjustedCount)) AS Weight,
    toUInt64(countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR'))) AS Errors,
    toUInt64(countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR') AND AdjustedCount > 1)) AS SampledErrors,
    toUInt64(countIf(Duration = 0)) AS ZeroDuration,
    toUInt64(countIf(Duration > 86400000000000)) AS OverDay
FROM {database}.{table}
GROUP BY Minute, ServiceName, SpanName, SamplingPolicy, IsEntry, EntryKeys
