-- spanhouse addition: fills {table}_span_graph from every insert into {table}: the relation
-- columns (span_graph_columns.sql, shared with the trace doctor), then the counting columns,
-- with the error and entry tests of spanhouse.query.sqlutil (IS_ERROR, IS_ENTRY) and
-- span_stats_mv.sql's keys.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_span_graph_mv
TO {database}.{table}_span_graph
AS SELECT
{span_graph_columns},
    SamplingPolicy,
    toFloat64(AdjustedCount) AS Weight,
    toUInt8(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS IsError,
    toUInt8(SpanKind IN ('Server', 'Consumer', 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER') OR ParentSpanId = '') AS IsEntry,
    if(IsEntry = 1,
       arraySort(arrayDistinct(arrayFilter(k -> endsWith(k, '.id'),
           arrayConcat(mapKeys(SpanAttributes), mapKeys(ResourceAttributes))))),
       []) AS EntryKeys
FROM {database}.{table}
WHERE TraceId != ''
