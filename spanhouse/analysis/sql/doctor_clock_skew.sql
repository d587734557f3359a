-- doctor: synchronous calls (a SERVER span whose parent is a CLIENT span of another service)
-- where the server span starts before its client span or ends after it by more than
-- {tolerance} ns: the two hosts' clocks disagree. Spans lasting over {max_duration} ns are
-- left out (bad durations, reported apart). Per (client service, server service): the calls,
-- the skewed ones (stored, and estimated: the sum of their server spans' Weight,
-- AdjustedCount), the largest offset, up to 5 example trace ids.
SELECT
    parent_service,
    child_service,
    count() AS calls,
    countIf(offset > {tolerance:Int64}) AS skewed,
    sumIf(weight, offset > {tolerance:Int64}) AS skewed_estimated,
    maxIf(offset, offset > {tolerance:Int64}) AS max_offset_ns,
    groupArrayIf(5)(trace, offset > {tolerance:Int64}) AS examples
FROM (
    SELECT c.trace AS trace, c.weight AS weight, p.service AS parent_service,
           c.service AS child_service,
           greatest(p.ts - c.ts, c.te - p.te) AS offset
    FROM (
        SELECT ParentHash AS k, TraceId AS trace, Weight AS weight,
               toString(ServiceName) AS service,
               toUnixTimestamp64Nano(Timestamp) AS ts, ts + toInt64(Duration) AS te
        FROM ${graph}
        WHERE ${window} AND ParentHash != 0 AND SpanKind IN ${server_kinds}
            AND Duration <= {max_duration:UInt64}
    ) AS c
    INNER JOIN (
        SELECT SpanHash AS k, toString(ServiceName) AS service,
               toUnixTimestamp64Nano(Timestamp) AS ts, ts + toInt64(Duration) AS te
        FROM ${graph}
        WHERE ${wide} AND SpanKind IN ${client_kinds}
            AND Duration <= {max_duration:UInt64}
    ) AS p ON c.k = p.k
    WHERE p.service != c.service
)
GROUP BY parent_service, child_service
HAVING skewed > 0
ORDER BY skewed DESC, parent_service, child_service
