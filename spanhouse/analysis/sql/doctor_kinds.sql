-- doctor: a cheap look at the spans the relation checks start from, so that each of their
-- queries (every one builds a set over the lookup window) runs only when it has work. Over the
-- window, from SpanKind and the attribute keys only (no value is decompressed):
--   named      CLIENT spans started before {settled} naming a callee (a peer.service,
--              server.address, net.peer.name, http.url or url.full key): doctor_edges_named.sql
--   unnamed    CLIENT spans started before {settled} naming none and no database or messaging
--              call: doctor_edges_timing.sql
--   producers  PRODUCER spans started before {settled}, consumers: CONSUMER spans:
--              doctor_async.sql
--   calls      SERVER spans with a parent: doctor_clock_skew.sql
SELECT
    countIf(is_client AND settled AND hasAny(SpanAttributes.keys,
        ['peer.service', 'server.address', 'net.peer.name', 'http.url', 'url.full'])) AS named,
    countIf(is_client AND settled AND NOT hasAny(SpanAttributes.keys,
        ['peer.service', 'server.address', 'net.peer.name', 'http.url', 'url.full',
         'db.system', 'db.system.name', 'messaging.system'])) AS unnamed,
    countIf(SpanKind IN ('Producer', 'SPAN_KIND_PRODUCER') AND settled) AS producers,
    countIf(SpanKind IN ('Consumer', 'SPAN_KIND_CONSUMER')) AS consumers,
    countIf(SpanKind IN ('Server', 'SPAN_KIND_SERVER') AND ParentSpanId != '') AS calls
FROM (
    SELECT SpanKind, ParentSpanId, SpanAttributes.keys,
           SpanKind IN ('Client', 'SPAN_KIND_CLIENT') AS is_client,
           Timestamp <= fromUnixTimestamp64Nano({settled:Int64}) AS settled
    FROM ${traces}
    PREWHERE ${window} AND SpanKind IN ('Client', 'SPAN_KIND_CLIENT', 'Producer',
        'SPAN_KIND_PRODUCER', 'Consumer', 'SPAN_KIND_CONSUMER', 'Server', 'SPAN_KIND_SERVER')
)
