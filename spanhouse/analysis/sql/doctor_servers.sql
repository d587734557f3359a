-- doctor: the services reporting SERVER spans in the lookup window, with the time range they
-- cover (Unix ns), for matching client spans to the service they name.
SELECT
    toString(ServiceName) AS service,
    toUnixTimestamp64Nano(min(Timestamp)) AS first_ns,
    max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) AS last_ns
FROM ${graph}
WHERE ${wide} AND SpanKind IN ${server_kinds}
GROUP BY service
ORDER BY service
