-- doctor: per service, over every span of the window, for the durations and span-name checks:
--   spans, zero, too_long        its spans, those lasting 0 ns or over {max_duration} ns
--                                (Duration is unsigned: an end before the start is stored as
--                                0 or as a huge value)
--   names, id_names, id_examples its distinct span names, those holding an id-like segment (a
--                                number, a UUID or a long hex run between separators, e.g.
--                                "GET /users/123"), and up to 5 of the latter
-- ${counts} counts per (service, name): doctor_window_spans.sql over the spans of the window,
-- or, when the store has span stats, over the spans of its partial first and last minutes
-- UNION ALL doctor_window_stats.sql over the whole minutes between. Example trace ids are
-- fetched by doctor_examples_*.sql, only for a finding.
SELECT
    service,
    sum(n) AS spans,
    sum(n_zero) AS zero,
    sum(n_too_long) AS too_long,
    count() AS names,
    countIf(is_id) AS id_names,
    groupArrayIf(5)(name, is_id) AS id_examples
FROM (
    SELECT service, name, sum(n) AS n, sum(n_zero) AS n_zero, sum(n_too_long) AS n_too_long,
           match(name, '(^|[/ :=#@])([0-9]+|[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})($$|[/ ?&.:#,;])') AS is_id
    FROM (${counts})
    GROUP BY service, name
)
GROUP BY service
ORDER BY service
