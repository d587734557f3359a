-- spanhouse addition: fills {table}_attributes, one row per (span, attribute) of SpanAttributes
-- and ResourceAttributes whose key and value are at most 256 bytes long.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_attributes_mv
TO {database}.{table}_attributes
AS SELECT
    kv.1 AS Key,
    kv.2 AS Value,
    Timestamp,
    TraceId
FROM {database}.{table}
ARRAY JOIN arrayConcat(
    CAST(SpanAttributes, 'Array(Tuple(String, String))'),
    CAST(ResourceAttributes, 'Array(Tuple(String, String))')) AS kv
WHERE TraceId != '' AND length(kv.1) <= 256 AND length(kv.2) <= 256
