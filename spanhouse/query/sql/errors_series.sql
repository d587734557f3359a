-- errors_by_service: errors over time. Per service and per bucket of {step:Int64} ns (bucket
-- b starts at b * step, Unix time), the estimates (sums of ${w}: AdjustedCount) of error
-- requests (entry spans with status Error), of error spans and of requests (entry spans).
-- ${source} is the FROM text of the window's entry and error spans: Spanhouse's
-- {table}_entry_error_spans, or the traces table (${err}/${entry} are then the fixed tests).
SELECT toString(ServiceName) AS service,
       intDiv(toUnixTimestamp64Nano(Timestamp), {step:Int64}) AS bucket,
       sumIf(toFloat64(${w}), ${entry} AND ${err}) AS errors,
       sumIf(toFloat64(${w}), ${err}) AS error_spans,
       sumIf(toFloat64(${w}), ${entry}) AS requests
FROM ${source}
GROUP BY service, bucket
ORDER BY service, bucket
