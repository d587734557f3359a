-- doctor: per service, its distinct span names in the window, and those holding an id-like
-- segment (a number, a UUID or a long hex run between separators, e.g. "GET /users/123"),
-- with up to 5 such names and one trace id of each.
SELECT
    service,
    count() AS names,
    countIf(is_id) AS id_names,
    groupArrayIf(5)(name, is_id) AS example_names,
    groupArrayIf(5)(trace, is_id) AS examples
FROM (
    SELECT service, name, trace,
           match(name, '(^|[/ :=#@])([0-9]+|[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})($$|[/ ?&.:#,;])') AS is_id
    FROM (
        SELECT toString(ServiceName) AS service, toString(SpanName) AS name, any(TraceId) AS trace
        FROM ${traces}
        PREWHERE ${window}
        GROUP BY service, name
    )
)
GROUP BY service
ORDER BY service
