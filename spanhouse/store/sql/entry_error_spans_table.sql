-- spanhouse addition: the spans errors_by_service needs, and only them: entry spans (kind
-- Server/Consumer, or roots: a service's requests) and error spans, with small columns. The
-- traces table would have to read its string columns for every span of the window to find
-- these (error spans are scattered over all its granules). ORDER BY (IsError, Timestamp): the
-- error-only queries (origins, top messages) read one small range. Duration and IsRoot serve
-- search's root-span scan (spanhouse/query/search.py): the roots of a window are read here, a
-- table a tenth of the traces table's size, instead of testing every span's ParentSpanId.
CREATE TABLE IF NOT EXISTS {database}.{table}_entry_error_spans (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    IsError UInt8 CODEC(ZSTD(1)),
    IsEntry UInt8 CODEC(ZSTD(1)),
    IsRoot UInt8 CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    Weight Float64 CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (IsError, Timestamp)
{ttl}
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
