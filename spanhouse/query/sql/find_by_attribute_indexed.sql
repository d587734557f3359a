-- find_by_attribute, step 1 on the attribute index ({table}_attributes, ORDER BY (Key, Value,
-- Timestamp)): the rows of key = value in the window are one primary key range. Same result
-- as find_by_attribute_candidates.sql (the index holds every span and resource attribute).
SELECT TraceId
FROM ${attributes}
PREWHERE Key = {key:String} AND Value = {value:String} AND ${window}
GROUP BY TraceId
ORDER BY min(abs(toUnixTimestamp64Nano(Timestamp) - {at:Int64})), TraceId
LIMIT {trace_limit:UInt32}
