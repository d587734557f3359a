-- spanhouse addition: span counts per minute, for the trace doctor's counting checks
-- (spanhouse/analysis/doctor.py: sampling, durations, span names, business context), which
-- would otherwise read every span of their window (an hour of a busy system: ten million).
-- One row per (minute, service, span name, sampling policy, entry span or not, the business
-- key candidates an entry span carries), summed: an hour is a few thousand rows. EntryKeys are
-- the distinct keys ending in ".id" of an entry span's span and resource attributes, sorted
-- (empty for other spans): only those, so that spans carrying ids in their key names cannot
-- multiply the rows. OverDay counts spans lasting over a day (the doctor's default limit).
-- SummingMergeTree sums rows with the same key when parts merge; readers always sum.
CREATE TABLE IF NOT EXISTS {database}.{table}_span_stats (
    Minute DateTime CODEC(Delta, ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SamplingPolicy LowCardinality(String) CODEC(ZSTD(1)),
    IsEntry UInt8 CODEC(ZSTD(1)),
    EntryKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),
    Spans UInt64 CODEC(ZSTD(1)),
    Weight Float64 CODEC(ZSTD(1)),
    Errors UInt64 CODEC(ZSTD(1)),
    SampledErrors UInt64 CODEC(ZSTD(1)),
    ZeroDuration UInt64 CODEC(ZSTD(1)),
    OverDay UInt64 CODEC(ZSTD(1))
) ENGINE = SummingMergeTree
PARTITION BY toDate(Minute)
ORDER BY (Minute, ServiceName, SpanName, SamplingPolicy, IsEntry, EntryKeys)
{ttl}
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
