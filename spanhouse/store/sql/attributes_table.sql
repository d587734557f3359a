-- spanhouse addition: an inverted index of span and resource attributes, for equality lookups
-- (find_by_attribute, search's key = value filters). ORDER BY (Key, Value, Timestamp): a lookup
-- of key = value in a time window is one primary key range. One row per span and attribute
-- (no per-trace deduplication, so "some matching span in the window" stays exact). Values
-- longer than 256 bytes are not indexed (they would bloat the primary index); readers go to
-- the traces table for those (spanhouse.query.sqlutil.MAX_INDEXED_BYTES).
CREATE TABLE IF NOT EXISTS {database}.{table}_attributes (
    Key LowCardinality(String) CODEC(ZSTD(1)),
    Value String CODEC(ZSTD(1)),
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (Key, Value, Timestamp)
{ttl}
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
