-- doctor: per service, spans of the window lasting 0 ns or over {max_duration} ns (Duration
-- is unsigned: an end before the start is stored as 0 or as a huge value), with up to 5
-- example trace ids.
SELECT
    toString(ServiceName) AS service,
    count() AS spans,
    countIf(Duration = 0) AS zero,
    countIf(Duration > {max_duration:UInt64}) AS too_long,
    groupArrayIf(5)(TraceId, Duration = 0 OR Duration > {max_duration:UInt64}) AS examples
FROM ${traces}
PREWHERE ${window}
GROUP BY service
HAVING zero > 0 OR too_long > 0
ORDER BY service
