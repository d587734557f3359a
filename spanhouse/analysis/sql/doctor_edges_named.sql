-- doctor: client spans that name the service they call (Target of ${graph}: peer.service,
-- server.address, net.peer.name, or the host of http.url / url.full, lowercased) where that
-- service is one of {callees} (services with SERVER spans in the lookup window, lowercase,
-- from [{firsts}[i], {lasts}[i]]). A call is *broken* when the client span has no child span at
-- all in the lookup window (the callee's server span started a trace of its own) while the
-- callee reported server spans overlapping the call. Spans started after {settled} are left
-- out (their children may not be exported yet). Per (caller, callee): all named calls,
-- broken ones (stored, and estimated: the sum of their client spans' Weight, AdjustedCount),
-- and up to 5 example trace ids of broken calls.
SELECT
    caller,
    callee,
    count() AS calls,
    countIf(broken) AS broken_calls,
    sumIf(Weight, broken) AS broken_estimated,
    groupArrayIf(5)(TraceId, broken) AS examples
FROM (
    SELECT
        TraceId, Weight, caller, {callees:Array(String)}[i] AS callee,
        ts <= {lasts:Array(Int64)}[i] AND te >= {firsts:Array(Int64)}[i]
            AND SpanHash NOT IN (
                SELECT ParentHash FROM ${graph} WHERE ${wide} AND ParentHash != 0) AS broken
    FROM (
        SELECT
            TraceId, SpanHash, Weight, toString(ServiceName) AS caller,
            toUnixTimestamp64Nano(Timestamp) AS ts, ts + toInt64(Duration) AS te,
            toString(Target) AS target,
            indexOf({callees:Array(String)}, target) AS exact,
            if(exact > 0, exact,
               indexOf({callees:Array(String)}, splitByChar('.', splitByChar(':', target)[1])[1])) AS i
        FROM ${graph}
        WHERE ${window} AND Timestamp <= fromUnixTimestamp64Nano({settled:Int64})
            AND SpanKind IN ${client_kinds} AND Target != ''
            AND i > 0
    )
    WHERE lower(caller) != callee
)
GROUP BY caller, callee
HAVING broken_calls > 0
ORDER BY broken_calls DESC, caller, callee
