-- doctor: per sampling policy (${policy}: SamplingPolicy, or '' on an exporter-created table;
-- ${spans}: see doctor_window_spans.sql),
-- the stored spans of the window, their estimated true number (sum of ${weight}), error
-- spans, and error spans kept with a weight above 1 (errors that were sampled: for each one
-- kept, others were dropped; their traces are fetched by doctor_sampled_errors.sql).
SELECT
    ${policy} AS policy,
    count() AS spans,
    sum(toFloat64(${weight})) AS estimated,
    countIf(${is_error}) AS error_spans,
    countIf(${is_error} AND toFloat64(${weight}) > 1) AS sampled_errors
FROM ${spans}
PREWHERE ${window}
GROUP BY policy
ORDER BY spans DESC, policy
