-- doctor: attribute keys (span or resource) of entry spans that look like business keys: the
-- configured ones ({keys}) and any other key ending in ".id", over at most {learn_limit}
-- entry spans of the window. Per key: how many services carry it and on how many of the
-- sampled entry spans.
SELECT k AS key, uniqExact(service) AS services, count() AS spans
FROM (
    SELECT toString(ServiceName) AS service, 
           arrayDistinct(${entry_keys}) AS keys
    FROM ${spans}
    PREWHERE ${window} AND ${is_entry}
    LIMIT {learn_limit:UInt32}
)
ARRAY JOIN keys AS k
WHERE has({keys:Array(String)}, k) OR endsWith(k, '.id')
GROUP BY k
ORDER BY spans DESC, k
