-- doctor: the one pass over every span of the window, for the checks that count spans
-- (sampling, durations, span names). No per-span string column (TraceId, attributes) is read:
-- the example trace ids of a finding are fetched afterwards, by doctor_sampled_errors.sql and
-- doctor_examples_*.sql, only when the finding is made. (The business context check reads
-- entry spans only: doctor_business_context.sql, a PREWHERE that this pass cannot share.)
-- The inner query counts per (service, span name, policy: ${policy}); its rows are then summed
-- twice, once per service (dim 'service') and once per policy (dim 'policy'):
--   spans, estimated             stored spans and their summed ${weight}
--   error_spans, sampled_errors  error spans, and those kept with a weight above 1 (for each
--                                one kept, others were dropped)
--   zero, too_long               spans lasting 0 ns or over {max_duration} ns (Duration is
--                                unsigned: an end before the start is stored as 0 or as huge)
--   names, id_names, id_examples distinct span names, those holding an id-like segment (a
--                                number, a UUID or a long hex run between separators, e.g.
--                                "GET /users/123"), and up to 5 of the latter
SELECT
    d.1 AS dim,
    d.2 AS key,
    sum(n) AS spans,
    sum(est) AS estimated,
    sum(errs) AS error_spans,
    sum(sampled_errs) AS sampled_errors,
    sum(n_zero) AS zero,
    sum(n_too_long) AS too_long,
    uniqExact(name) AS names,
    uniqExactIf(name, is_id) AS id_names,
    groupUniqArrayIf(5)(name, is_id) AS id_examples
FROM (
    SELECT service, name, policy, n, est, errs, sampled_errs, n_zero, n_too_long,
           match(name, '(^|[/ :=#@])([0-9]+|[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})($$|[/ ?&.:#,;])') AS is_id
    FROM (
        SELECT
            toString(ServiceName) AS service,
            toString(SpanName) AS name,
            ${policy} AS policy,
            count() AS n,
            sum(toFloat64(${weight})) AS est,
            countIf(${is_error}) AS errs,
            countIf(${is_error} AND toFloat64(${weight}) > 1) AS sampled_errs,
            countIf(Duration = 0) AS n_zero,
            countIf(Duration > {max_duration:UInt64}) AS n_too_long
        FROM ${traces}
        PREWHERE ${window}
        GROUP BY ServiceName, SpanName, policy
    )
)
ARRAY JOIN [('service', service), ('policy', policy)] AS d
GROUP BY dim, key
ORDER BY dim, key
