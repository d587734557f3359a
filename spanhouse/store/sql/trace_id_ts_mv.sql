-- exporter/clickhouseexporter internal/sql_templates/traces_id_ts_lookup_mv.sql
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_trace_id_ts_mv
TO {database}.{table}_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) as Start,
    max(Timestamp) as End
FROM {database}.{table}
WHERE TraceId != ''
GROUP BY TraceId
