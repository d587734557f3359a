-- doctor: client spans that name no callee (no peer.service, server.address, net.peer.name,
-- http.url, url.full key) and are no database or messaging call (Unnamed of ${graph}), have
-- no child span at all, and started before {settled}: the *candidates*. For each, the server ROOT span of another
-- service that starts inside it (within {max_gap} ns of its start) and ends by its end
-- ({tolerance} ns of slack) is its likely lost callee; the closest start wins. The range
-- join is an equi-join on 100 ms buckets: a candidate spans the buckets of
-- [start, start + min(duration, max_gap)], a root sits in the bucket of its start.
-- Per (caller, caller operation): the candidates, and per callee the matched candidates (stored,
-- and estimated: the sum of their Weight, AdjustedCount) with up to 5 example trace ids of the
-- caller and of the callee's roots.
SELECT
    caller, operation,
    any(candidates) AS candidates,
    best.1 AS callee,
    count() AS matched,
    sum(weight) AS matched_estimated,
    groupArray(5)(c_trace) AS examples,
    groupArray(5)(best.2) AS callee_examples
FROM (
    SELECT
        c.trace AS c_trace, c.sid AS sid, c.caller AS caller, c.operation AS operation,
        any(c.candidates) AS candidates, any(c.weight) AS weight,
        argMin(tuple(r.callee, r.trace), r.ts - c.ts) AS best
    FROM (
        SELECT
            TraceId AS trace, SpanHash AS sid, Weight AS weight, caller, operation, ts, te,
            count() OVER (PARTITION BY caller, operation) AS candidates,
            arrayJoin(range(intDiv(ts, 100000000),
                            intDiv(least(te, ts + {max_gap:Int64}), 100000000) + 1)) AS bucket
        FROM (
            SELECT
                TraceId, SpanHash, Weight, toString(ServiceName) AS caller,
                toString(SpanName) AS operation,
                toUnixTimestamp64Nano(Timestamp) AS ts, ts + toInt64(Duration) AS te
            FROM ${graph}
            WHERE ${window} AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
                AND SpanKind IN ${client_kinds} AND Unnamed = 1
                AND SpanHash NOT IN (
                    SELECT ParentHash FROM ${graph} WHERE ${wide} AND ParentHash != 0)
        )
    ) AS c
    GLOBAL INNER JOIN (   -- callers and callees of different traces: on a cluster, other shards

        SELECT
            TraceId AS trace, toString(ServiceName) AS callee,
            toUnixTimestamp64Nano(Timestamp) AS ts, ts + toInt64(Duration) AS te,
            intDiv(ts, 100000000) AS bucket
        FROM ${graph}
        WHERE ${wide} AND ParentHash = 0 AND SpanKind IN ${server_kinds}
    ) AS r ON c.bucket = r.bucket
    WHERE r.ts >= c.ts AND r.ts <= least(c.te, c.ts + {max_gap:Int64})
        AND r.te <= c.te + {tolerance:Int64} AND r.callee != c.caller
    GROUP BY c_trace, sid, caller, operation
)
GROUP BY caller, operation, callee
ORDER BY matched DESC, caller, operation, callee
