-- errors_by_service's top messages and operations on {table}_entry_error_spans (the IsError = 1
-- range); same result as errors_top.sql.
SELECT 'message' AS what, toString(ServiceName) AS service, StatusMessage AS text, count() AS n
FROM ${entry_error}
PREWHERE IsError = 1 AND ${window}
WHERE StatusMessage != ''
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
UNION ALL
SELECT 'operation' AS what, toString(ServiceName) AS service, toString(SpanName) AS text, count() AS n
FROM ${entry_error}
PREWHERE IsError = 1 AND ${window}
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
