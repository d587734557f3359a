-- doctor: queue hops without context (${graph}: see doctor_traces.sql).
--   producer       PRODUCER spans (started before {settled}) and, of those, the ones with
--                  no CONSUMER or SERVER child in the lookup window and no span of the lookup
--                  window linking to them (Links.TraceId/Links.SpanId);
--   consumer_root  CONSUMER spans that are roots and carry no link.
-- Per (what, service, destination): all such spans, the unlinked ones (stored, and estimated:
-- the sum of their Weight, AdjustedCount), up to 5 example traces.
SELECT * FROM (
SELECT
    'producer' AS what,
    toString(ServiceName) AS service,
    toString(Destination) AS destination,
    count() AS spans,
    countIf(unlinked) AS unlinked_spans,
    sumIf(Weight, unlinked) AS unlinked_estimated,
    groupArrayIf(5)(TraceId, unlinked) AS examples
FROM (
    SELECT
        TraceId, ServiceName, Destination, Weight,
        SpanHash NOT IN (
            SELECT ParentHash FROM ${graph}
            WHERE ${wide} AND ParentHash != 0
                AND SpanKind IN ${consumer_or_server_kinds})
        AND SpanHash GLOBAL NOT IN (   -- a link may point into another trace, on another shard
            SELECT arrayJoin(LinkHashes) FROM ${graph}
            WHERE ${wide} AND notEmpty(LinkHashes)) AS unlinked
    FROM ${graph}
    WHERE ${window} AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
        AND SpanKind IN ${producer_kinds}
)
GROUP BY service, destination
UNION ALL
SELECT
    'consumer_root' AS what,
    toString(ServiceName) AS service,
    toString(Destination) AS destination,
    count() AS spans,
    countIf(ParentHash = 0 AND empty(LinkHashes)) AS unlinked_spans,
    sumIf(Weight, ParentHash = 0 AND empty(LinkHashes)) AS unlinked_estimated,
    groupArrayIf(5)(TraceId, ParentHash = 0 AND empty(LinkHashes)) AS examples
FROM ${graph}
WHERE ${window} AND SpanKind IN ${consumer_kinds}
GROUP BY service, destination
)
ORDER BY what DESC, service, destination   -- producers first, then consumer roots
