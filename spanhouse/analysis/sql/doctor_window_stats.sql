-- doctor: doctor_window_spans.sql from the span stats (spanhouse/store/sql/span_stats_*.sql)
-- of the whole minutes of the window (${minutes}): OverDay is the count over a day, the doctor's
-- default limit (with another limit the doctor reads the spans).
SELECT
    toString(ServiceName) AS service,
    toString(SpanName) AS name,
    sum(Spans) AS n,
    sum(ZeroDuration) AS n_zero,
    sum(OverDay) AS n_too_long
FROM ${span_stats}
PREWHERE ${minutes}
GROUP BY ServiceName, SpanName
