-- spanhouse addition: fills {table}_span_graph from every insert into {table}. Its select list
-- starts with spanhouse/analysis/sql/doctor_graph_spans.sql's, word for word (the doctor
-- computes those columns from the traces table when a store has not got this addition; kept
-- equal by tests/store/test_schema_additions.py); the counting columns follow, with the error
-- and entry tests of spanhouse.query.sqlutil (IS_ERROR, IS_ENTRY) and span_stats_mv.sql's keys.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_span_graph_mv
TO {database}.{table}_span_graph
AS SELECT
    Timestamp,
    TraceId,
    cityHash64(TraceId) AS TraceHash,
    cityHash64(TraceId, SpanId) AS SpanHash,
    if(ParentSpanId = '', toUInt64(0), cityHash64(TraceId, ParentSpanId)) AS ParentHash,
    SpanKind,
    ServiceName,
    SpanName,
    Duration,
    if(SpanKind IN ('Client', 'SPAN_KIND_CLIENT'), lower(multiIf(
        SpanAttributes['peer.service'] != '', SpanAttributes['peer.service'],
        SpanAttributes['server.address'] != '', SpanAttributes['server.address'],
        SpanAttributes['net.peer.name'] != '', SpanAttributes['net.peer.name'],
        SpanAttributes['http.url'] != '', domain(SpanAttributes['http.url']),
        SpanAttributes['url.full'] != '', domain(SpanAttributes['url.full']),
        '')), '') AS Target,
    toUInt8(SpanKind IN ('Client', 'SPAN_KIND_CLIENT') AND NOT hasAny(mapKeys(SpanAttributes),
        ['peer.service', 'server.address', 'net.peer.name', 'http.url', 'url.full',
         'db.system', 'db.system.name', 'messaging.system'])) AS Unnamed,
    if(SpanKind IN ('Producer', 'SPAN_KIND_PRODUCER', 'Consumer', 'SPAN_KIND_CONSUMER'),
       if(SpanAttributes['messaging.destination.name'] != '',
          SpanAttributes['messaging.destination.name'],
          SpanAttributes['messaging.destination']), '') AS Destination,
    arrayMap((t, s) -> cityHash64(t, s), Links.TraceId, Links.SpanId) AS LinkHashes,
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
