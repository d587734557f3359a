-- doctor: per (service, span name), the spans of the window, those lasting 0 ns and those
-- lasting over {max_duration} ns (Duration is unsigned: an end before the start is stored as
-- 0 or as a huge value), for doctor_window.sql. ${spans}: the traces table, or the span graph
-- for the partial minutes of a window whose whole minutes come from the span stats. No
-- per-span string column is read. doctor_policies.sql counts the same spans per sampling
-- policy. (On the traces table, optimize_aggregation_in_order would halve this GROUP BY, on the
-- first two columns of its ORDER BY; it is not set in the query because a read-only ClickHouse
-- user may not change settings.)
SELECT
    toString(ServiceName) AS service,
    toString(SpanName) AS name,
    count() AS n,
    countIf(Duration = 0) AS n_zero,
    countIf(Duration > {max_duration:UInt64}) AS n_too_long
FROM ${spans}
PREWHERE ${window}
GROUP BY ServiceName, SpanName
