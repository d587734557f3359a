-- doctor: doctor_keys_learn.sql from the span stats of the minutes of the window
-- (${minutes}): every ".id" key of the window's entry spans (no limit: the stats are small).
SELECT k AS key, uniqExact(ServiceName) AS services, sum(Spans) AS spans
FROM ${span_stats}
ARRAY JOIN EntryKeys AS k
PREWHERE ${minutes} AND IsEntry = 1
GROUP BY k
ORDER BY spans DESC, k
