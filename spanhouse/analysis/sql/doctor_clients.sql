-- doctor: a cheap look at the client spans of the window started before {settled} (only the
-- attribute keys are read), so that the broken-edge queries run only when they have work:
--   named    those naming a callee (a peer.service, server.address, net.peer.name, http.url
--            or url.full key): doctor_edges_named.sql's candidates;
--   unnamed  those naming none and no database or messaging call: doctor_edges_timing.sql's.
SELECT
    countIf(hasAny(SpanAttributes.keys, ['peer.service', 'server.address', 'net.peer.name',
                                         'http.url', 'url.full'])) AS named,
    countIf(NOT hasAny(SpanAttributes.keys,
                       ['peer.service', 'server.address', 'net.peer.name', 'http.url',
                        'url.full', 'db.system', 'db.system.name', 'messaging.system'])) AS unnamed
FROM ${traces}
PREWHERE ${window} AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
    AND SpanKind IN ('Client', 'SPAN_KIND_CLIENT')
