-- The native INSERT (spanhouse.store.native_insert): ClickHouse parses the OTLP messages of
-- ${source} and ARRAY JOINs resource_spans -> scope_spans -> spans into rows of ${target}.
-- ${functions}: native_functions.sql; ${select}: one expression per column over the span `sp`
-- and the per-resource (res_*) and per-scope (scope_*) columns computed before the joins;
-- ${valid}: the Python decoder's span filter (over tid, sid, pid, t0, t1, te); ${format}: a
-- FORMAT clause when the messages are the request body, else empty.
INSERT INTO ${target} (${columns})
SETTINGS ${settings}
WITH ${functions}
SELECT
    ${select}
FROM (
    SELECT
        res_service, res_attributes, res_attribute_types, res_dropped_attributes_count,
        ss.scope.name AS scope_name, ss.scope.version AS scope_version, ss.spans AS spans
    FROM (
        SELECT
            rs.resource.attributes.value.string_value[indexOf(rs.resource.attributes.key, 'service.name')]
                AS res_service,
            sh_attributes(rs.resource.attributes) AS res_attributes,
            sh_attribute_types(rs.resource.attributes) AS res_attribute_types,
            rs.resource.dropped_attributes_count AS res_dropped_attributes_count,
            rs.scope_spans AS scope_spans
        FROM ${source}
        ARRAY JOIN resource_spans AS rs
    )
    ARRAY JOIN scope_spans AS ss
)
ARRAY JOIN arrayFilter((sp, tid, sid, pid, t0, t1, te) -> ${valid},
                       spans, spans.trace_id, spans.span_id, spans.parent_span_id,
                       spans.start_time_unix_nano, spans.end_time_unix_nano,
                       spans.events.time_unix_nano) AS sp${format}
