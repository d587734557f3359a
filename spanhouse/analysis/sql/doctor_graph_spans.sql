-- doctor: the columns of {table}_span_graph (spanhouse/store/sql/span_graph_table.sql),
-- computed from the traces table: ${graph} for the relation checks when the store has not got
-- that addition (e.g. a table the collector's exporter created): the relation columns, the
-- first of the addition's view's select list, word for word
-- (tests/store/test_schema_additions.py).
SELECT
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
    arrayMap((t, s) -> cityHash64(t, s), Links.TraceId, Links.SpanId) AS LinkHashes
FROM ${traces}
