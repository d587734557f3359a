-- doctor: per sampling policy (${policy}: SamplingPolicy, or '' on an exporter-created
-- table), the stored spans of the window, their estimated true number (sum of ${weight}),
-- error spans, and error spans kept with a weight above 1 (errors that were sampled: for each
-- one kept, others were dropped) with their traces.
SELECT
    ${policy} AS policy,
    count() AS spans,
    sum(toFloat64(${weight})) AS estimated,
    countIf(is_err) AS error_spans,
    countIf(is_err AND w > 1) AS sampled_error_spans,
    uniqExactIf(TraceId, is_err AND w > 1) AS sampled_error_traces,
    groupUniqArrayIf(5)(TraceId, is_err AND w > 1) AS examples,
    groupUniqArrayIf(5)(toString(ServiceName), is_err AND w > 1) AS error_services
FROM (
    SELECT *, ${is_error} AS is_err, toFloat64(${weight}) AS w
    FROM ${traces}
    PREWHERE ${window}
)
GROUP BY policy
ORDER BY spans DESC, policy
