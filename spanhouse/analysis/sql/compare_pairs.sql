-- Compare, step 3: per (key, value) pair, the sampled traces of each group that have it
-- (stored count and summed weight). ${trace} (compare_trace.sql) adds, per trace, the distinct
-- pairs of its spans (span and resource attributes, span.name per service) and, when a group
-- is sampled, keeps the spans of the sampled traces only ({sample:Array(UInt64)}: the hashes
-- of both groups' samples, from step 2). Keys with unbounded cardinality (more than
-- {max_values:UInt32} values, averaging under two traces each: ids) are skipped; a pair needs
-- {min_support:UInt32} selected traces
-- and a larger share of the selection than of the baseline. Best first by the difference of
-- the shares ({total_sel:Float64}, {total_base:Float64}: the samples' summed weights).
SELECT key, value, w_sel, w_base, n_sel, n_base
FROM (
    SELECT
        pair.1 AS key,
        pair.2 AS value,
        sumIf(weight, sel) AS w_sel,
        sumIf(weight, NOT sel) AS w_base,
        countIf(sel) AS n_sel,
        countIf(NOT sel) AS n_base,
        count() OVER (PARTITION BY key) AS key_values,
        sum(count()) OVER (PARTITION BY key) AS key_occurrences
    FROM (
        SELECT ${selected} AS sel, weight, pairs
        FROM (${trace})
    )
    ARRAY JOIN pairs AS pair
    GROUP BY key, value
)
WHERE n_sel >= {min_support:UInt32}
  AND NOT (key_values > {max_values:UInt32} AND key_values * 2 > key_occurrences)
  AND w_sel / {total_sel:Float64} > w_base / {total_base:Float64}
ORDER BY w_sel / {total_sel:Float64} - w_base / {total_base:Float64} DESC, key, value
LIMIT {rows:UInt32}
