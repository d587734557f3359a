-- doctor: per service, in one pass over the window (for the durations and the span names
-- checks, which once read it twice):
--   spans, zero, too_long, examples   its spans, those lasting 0 ns or over {max_duration} ns
--       (Duration is unsigned: an end before the start is stored as 0 or as a huge value),
--       with up to 5 example trace ids of those;
--   names, id_names, example_names, name_examples   its distinct span names, those holding
--       an id-like segment (a number, a UUID or a long hex run between separators, e.g.
--       "GET /users/123"), with up to 5 such names and one trace id of each.
SELECT
    service,
    sum(n) AS spans,
    sum(n_zero) AS zero,
    sum(n_too_long) AS too_long,
    arraySlice(groupArrayArray(bad_traces), 1, 5) AS examples,
    count() AS names,
    countIf(is_id) AS id_names,
    groupArrayIf(5)(name, is_id) AS example_names,
    groupArrayIf(5)(trace, is_id) AS name_examples
FROM (
    SELECT service, name, trace, n, n_zero, n_too_long, bad_traces,
           match(name, '(^|[/ :=#@])([0-9]+|[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})($$|[/ ?&.:#,;])') AS is_id
    FROM (
        SELECT toString(ServiceName) AS service, toString(SpanName) AS name,
               any(TraceId) AS trace,
               count() AS n,
               countIf(Duration = 0) AS n_zero,
               countIf(Duration > {max_duration:UInt64}) AS n_too_long,
               groupArrayIf(5)(TraceId, Duration = 0 OR Duration > {max_duration:UInt64})
                   AS bad_traces
        FROM ${traces}
        PREWHERE ${window}
        GROUP BY service, name
    )
)
GROUP BY service
ORDER BY service
