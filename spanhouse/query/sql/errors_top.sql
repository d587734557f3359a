-- errors_by_service: the 5 most frequent status messages and operations of each service's
-- error spans in the window (exact counts; ties by text). Error spans only (PREWHERE).
SELECT 'message' AS what, toString(ServiceName) AS service, StatusMessage AS text, count() AS n
FROM ${traces}
PREWHERE ${window} AND ${is_error}
WHERE StatusMessage != ''
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
UNION ALL
SELECT 'operation' AS what, toString(ServiceName) AS service, toString(SpanName) AS text, count() AS n
FROM ${traces}
PREWHERE ${window} AND ${is_error}
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
