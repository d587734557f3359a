-- spanhouse addition: fills {table}_entry_error_spans. The two tests are
-- spanhouse.query.sqlutil.IS_ERROR and IS_ENTRY (kept equal by tests/store/test_schema_additions.py).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_entry_error_spans_mv
TO {database}.{table}_entry_error_spans
AS SELECT
    Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, SpanName, StatusMessage,
    toUInt8(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS IsError,
    toUInt8(SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER') OR ParentSpanId = '') AS IsEntry,
    toUInt8(ParentSpanId = '') AS IsRoot,
    Duration,
    toFloat64(AdjustedCount) AS Weight
FROM {database}.{table}
WHERE StatusCode IN ('Error', 'STATUS_CODE_ERROR')
   OR SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER') OR ParentSpanId = ''
