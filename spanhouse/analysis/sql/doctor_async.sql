-- doctor: queue hops without context.
--   producer       PRODUCER spans (started before {settled}) and, of those, the ones with
--                  no CONSUMER or SERVER child in the lookup window and no span of the lookup
--                  window linking to them (Links.TraceId/Links.SpanId);
--   consumer_root  CONSUMER spans that are roots and carry no link.
-- Per (what, service, destination): all such spans, the unlinked ones, up to 5 example traces.
SELECT * FROM (
SELECT
    'producer' AS what,
    toString(ServiceName) AS service,
    if(SpanAttributes['messaging.destination.name'] != '',
       SpanAttributes['messaging.destination.name'],
       SpanAttributes['messaging.destination']) AS destination,
    count() AS spans,
    countIf(unlinked) AS unlinked_spans,
    groupArrayIf(5)(TraceId, unlinked) AS examples
FROM (
    SELECT
        TraceId, ServiceName, SpanAttributes,
        cityHash64(TraceId, SpanId) NOT IN (
            SELECT cityHash64(TraceId, ParentSpanId) FROM ${traces}
            PREWHERE ${wide} AND ParentSpanId != ''
                AND SpanKind IN ('Consumer', 'SPAN_KIND_CONSUMER', 'Server', 'SPAN_KIND_SERVER'))
        AND cityHash64(TraceId, SpanId) NOT IN (
            SELECT cityHash64(link_trace, link_span) FROM ${traces}
            ARRAY JOIN Links.TraceId AS link_trace, Links.SpanId AS link_span
            PREWHERE ${wide} AND notEmpty(Links.SpanId)) AS unlinked
    FROM ${traces}
    PREWHERE ${window} AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
        AND SpanKind IN ('Producer', 'SPAN_KIND_PRODUCER')
)
GROUP BY service, destination
UNION ALL
SELECT
    'consumer_root' AS what,
    toString(ServiceName) AS service,
    if(SpanAttributes['messaging.destination.name'] != '',
       SpanAttributes['messaging.destination.name'],
       SpanAttributes['messaging.destination']) AS destination,
    count() AS spans,
    countIf(ParentSpanId = '' AND empty(Links.SpanId)) AS unlinked_spans,
    groupArrayIf(5)(TraceId, ParentSpanId = '' AND empty(Links.SpanId)) AS examples
FROM ${traces}
PREWHERE ${window} AND SpanKind IN ('Consumer', 'SPAN_KIND_CONSUMER')
GROUP BY service, destination
)
ORDER BY what DESC, service, destination   -- producers first, then consumer roots
