-- doctor: the traces table's compressed bytes and rows on disk (active parts), for the
-- average stored size of a span.
SELECT sum(data_compressed_bytes) AS bytes, sum(rows) AS rows
FROM system.parts
WHERE database = {database:String} AND table = {table:String} AND active
