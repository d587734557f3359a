-- Compare, step 1 (percentile selections only): the weighted percentile {level:Float64} of
-- the durations of the window's traces (${trace}: compare_trace.sql). Weights are adjusted
-- counts in thousandths (quantileExactWeighted takes whole numbers).
SELECT
    quantileExactWeighted({level:Float64})(duration, toUInt64(round(weight * 1000))) AS threshold,
    count() AS traces
FROM (${trace})
