-- errors_by_service: the 5 most frequent status messages and operations of each service's
-- error spans in the window (exact counts; ties by text). ${error_spans} is the source of the
-- window's error spans: the traces table (PREWHERE on the window and the status), or
-- Spanhouse's {table}_entry_error_spans (its IsError = 1 range); the result is the same.
SELECT 'message' AS what, toString(ServiceName) AS service, StatusMessage AS text, count() AS n
FROM ${error_spans}
WHERE StatusMessage != ''
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
UNION ALL
SELECT 'operation' AS what, toString(ServiceName) AS service, toString(SpanName) AS text, count() AS n
FROM ${error_spans}
GROUP BY service, text
ORDER BY service, n DESC, text
LIMIT 5 BY service
