-- services: ServiceName is the first primary key column (LowCardinality): one small column.
SELECT DISTINCT toString(ServiceName) AS service
FROM ${traces}
WHERE ServiceName != ''
ORDER BY service
