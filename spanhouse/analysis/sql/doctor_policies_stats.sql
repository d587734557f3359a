-- doctor: doctor_policies.sql from the span stats of the whole minutes of the window (${minutes}).
SELECT
    toString(SamplingPolicy) AS policy,
    sum(Spans) AS spans,
    sum(Weight) AS estimated,
    sum(Errors) AS error_spans,
    sum(SampledErrors) AS sampled_errors
FROM ${span_stats}
PREWHERE ${minutes}
GROUP BY policy
ORDER BY spans DESC, policy
