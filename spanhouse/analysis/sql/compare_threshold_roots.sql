-- Compare, step 1 (percentile selections), fast form: the weighted percentile
-- {level:Float64} of the durations of the root spans in the window (a root's duration is
-- its trace's, its adjusted count the trace's weight), narrowed by ${root_span_filter}. One
-- row per trace and no GROUP BY: traces without a root span in the window are left out of
-- the percentile (compare_threshold.sql counts them, when there is no root at all).
SELECT
    quantileExactWeighted({level:Float64})(Duration, toUInt64(round(toFloat64(${weight}) * 1000)))
        AS threshold,
    count() AS traces
FROM ${traces}
PREWHERE ${window} AND ParentSpanId = ''${root_span_filter}
