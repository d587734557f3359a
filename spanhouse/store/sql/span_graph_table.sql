-- spanhouse addition: the relations between spans, compactly, in time order, for the trace
-- doctor's relation checks (spanhouse/analysis/sql/doctor_traces.sql, doctor_edges_*.sql,
-- doctor_async.sql, doctor_clock_skew.sql, doctor_kinds.sql, doctor_servers.sql): fragments,
-- broken calls, queue hops, clock skew, huge traces. They join the spans of a time slice with
-- their parents and children; in the traces table (ORDER BY ServiceName, SpanName, time) a
-- slice of seconds touches a granule of every (service, name) and its string and map columns
-- must be decompressed, here it is one range of small columns: ids as UInt64 hashes
-- (cityHash64(TraceId, SpanId), a collision about once in 2^32 pairs), the callee a CLIENT span
-- names (Target, lowercased), whether it names none and is no database or messaging call
-- (Unnamed), a PRODUCER/CONSUMER span's destination, the hashes of the spans it links to.
-- Also what the doctor's counting checks need of a span (sampling policy, adjusted count,
-- error, entry span and its keys ending in ".id", as in {table}_span_stats): they read the
-- span stats for the whole minutes of their window and this table for the partial first and
-- last minutes (a range here, a granule of every (service, name) in the traces table).
CREATE TABLE IF NOT EXISTS {database}.{table}_span_graph (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    TraceHash UInt64 CODEC(ZSTD(1)),
    SpanHash UInt64 CODEC(ZSTD(1)),
    ParentHash UInt64 CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    Target LowCardinality(String) CODEC(ZSTD(1)),
    Unnamed UInt8 CODEC(ZSTD(1)),
    Destination LowCardinality(String) CODEC(ZSTD(1)),
    LinkHashes Array(UInt64) CODEC(ZSTD(1)),
    SamplingPolicy LowCardinality(String) CODEC(ZSTD(1)),
    Weight Float64 CODEC(ZSTD(1)),
    IsError UInt8 CODEC(ZSTD(1)),
    IsEntry UInt8 CODEC(ZSTD(1)),
    EntryKeys Array(LowCardinality(String)) CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY Timestamp
{ttl}
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
