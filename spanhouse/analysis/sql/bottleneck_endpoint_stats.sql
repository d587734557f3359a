-- Endpoint bottlenecks: the figures of the endpoint's traces in the window, sampling-aware.
-- Every root span of {service:String} named {operation:String} in the window (a range read of
-- the primary key) stands for ${weight} traces (AdjustedCount; 1 on a table without it):
-- stored traces, the estimate (sum of the weights), the weighted median / p95 / p99 of the
-- root span's duration (quantilesExactWeighted takes whole weights: round(1000 * weight)
-- keeps three decimals of a fractional AdjustedCount) and the stored traces' plain median
-- (quantileExactInclusive: linear interpolation, as numpy's default).
SELECT
    uniqExact(TraceId) AS stored,
    sum(toFloat64(${weight})) AS estimated,
    quantilesExactWeighted(0.5, 0.95, 0.99)(toFloat64(Duration),
                                           toUInt64(round(1000 * toFloat64(${weight})))) AS q,
    quantileExactInclusive(0.5)(toFloat64(Duration)) AS stored_median
FROM ${traces}
WHERE ServiceName = {service:String} AND SpanName = {operation:String}
  AND ${window} AND ParentSpanId = ''
