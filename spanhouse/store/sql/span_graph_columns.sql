-- spanhouse addition: the relation columns of {table}_span_graph, computed from a span of the
-- traces table: one text for the view that fills the addition (span_graph_mv.sql, as
-- {span_graph_columns}) and for the trace doctor, which computes them from the traces table
-- when a store has not got the addition (spanhouse.store.schema.span_graph_columns).
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
