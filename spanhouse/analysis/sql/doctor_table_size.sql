-- doctor: the traces table's compressed bytes and rows on disk (active parts), for the
-- average stored size of a span. On a cluster the traces table is Distributed (no parts): its
-- local table's parts on this node give the same ratio.
SELECT sum(data_compressed_bytes) AS bytes, sum(rows) AS rows
FROM system.parts
WHERE database = {database:String} AND table IN ({table:String}, {local:String}) AND active
