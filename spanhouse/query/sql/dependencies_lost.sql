-- dependencies: calls whose trace context was lost. A CLIENT span of the window (kinds
-- {client_kinds:Array(String)}) that has no child span at all (none starts in [start, late]:
-- the callee's span, if any, started a trace of its own) and names its peer (${target}:
-- peer.service, server.address, net.peer.name, or the host of http.url / url.full, lowercased,
-- as the span graph's Target) where that peer is a service that reported SERVER spans in the
-- window (kinds {server_kinds:Array(String)}; matched whole, else by its first label:
-- "payment" for "payment:8080" or "payment.shop.svc"). Per (caller, callee): the estimates
-- (sums of ${w}: AdjustedCount), weighted quantiles of the client span's duration, stored
-- counts, one raw peer. ${spans}: Spanhouse's span graph (small columns, in time order; span
-- ids as hashes), else the traces table (${hash}, ${parent_hash}, ${err} then computed).
WITH
    (SELECT groupUniqArray(toString(ServiceName)) FROM ${spans}
     PREWHERE ${window} AND SpanKind IN {server_kinds:Array(String)}) AS names,
    arrayMap(n -> lower(n), names) AS callees
SELECT
    caller,
    names[i] AS callee,
    count() AS call_count,
    countIf(is_err) AS error_count,
    sum(w) AS estimated_calls,
    sumIf(w, is_err) AS estimated_errors,
    quantilesExactWeighted(0.5, 0.95)(d, toUInt64(round(1000 * w))) AS q,
    min(target) AS peer
FROM (
    SELECT
        toString(ServiceName) AS caller, ${err} AS is_err, toFloat64(${w}) AS w,
        toFloat64(Duration) AS d, ${target} AS target,
        indexOf(callees, target) AS exact,
        if(exact > 0, exact,
           indexOf(callees, splitByChar('.', splitByChar(':', target)[1])[1])) AS i,
        ${hash} AS k
    FROM ${spans}
    PREWHERE ${window} AND SpanKind IN {client_kinds:Array(String)}
    WHERE target != '' AND i > 0 AND lower(caller) != callees[i]
      AND k NOT IN (
        SELECT ${parent_hash}
        FROM ${spans}
        PREWHERE Timestamp >= fromUnixTimestamp64Nano({start:Int64})
             AND Timestamp <= fromUnixTimestamp64Nano({late:Int64}) AND ${has_parent})
)
GROUP BY caller, callee
ORDER BY caller, callee
