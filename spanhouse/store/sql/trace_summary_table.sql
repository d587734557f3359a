-- spanhouse addition (not the exporter's): one summary per trace, for the query service's
-- search step 2 (spanhouse/query/search.py). AggregatingMergeTree keyed by TraceId: a lookup of
-- a few hundred trace ids reads a few granules instead of every span of those traces in the big
-- table. Rows of one trace written in several inserts are merged in the background; readers
-- always GROUP BY TraceId (and merge the states), so unmerged rows give the same answer.
-- Root: the min of the tuple (not a root, Timestamp, SpanId, service, operation, duration,
-- weight) = the earliest root span, else the earliest span (the model's convention); a plain
-- tuple min (SimpleAggregateFunction) rather than an argMin state, which is slower to read.
-- End is the last span end (Unix ns). Partitioned like the lookup table (by day of Start) so
-- that the TTL drops whole parts. Lookups read a few rows per trace id at random places: small
-- granules (128 rows) and small compressed blocks (4-16 KiB), so that each id costs a few KiB
-- of decompression instead of a 8192-row granule in a 1 MiB block.
CREATE TABLE IF NOT EXISTS {database}.{table}_trace_summary (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime64(9)) CODEC(Delta, ZSTD(1)),
    End SimpleAggregateFunction(max, Int64) CODEC(ZSTD(1)),
    Root SimpleAggregateFunction(min, Tuple(UInt8, DateTime64(9), String, String, String, UInt64, Float64)) CODEC(ZSTD(1)),
    SpanCount SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1)),
    ErrorCount SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1)),
    Services SimpleAggregateFunction(groupUniqArrayArray, Array(String)) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(Start)
ORDER BY TraceId
{ttl}
SETTINGS index_granularity=128, min_compress_block_size=4096, max_compress_block_size=16384,
    ttl_only_drop_parts = 1
