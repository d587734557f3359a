-- doctor: the error spans of the window kept with a weight above 1 (errors that were sampled:
-- for each one kept, others were dropped), asked only when doctor_window.sql counted some:
-- their traces (stored, and estimated: the sum of each trace's largest ${sampled_weight} of
-- those spans, AdjustedCount), up to 5 example trace ids and up to 20 of their services.
-- ${source} is the entry/error spans table when the store has it (its error spans are one
-- range of its ORDER BY), else the traces table; ${sampled_error} the test in that table's
-- columns.
SELECT
    count() AS traces,
    sum(w) AS estimated,
    groupArray(5)(TraceId) AS examples,
    arraySlice(arraySort(arrayDistinct(arrayFlatten(groupArray(services)))), 1, 20) AS services
FROM (
    SELECT TraceId, max(toFloat64(${sampled_weight})) AS w,
           groupUniqArray(toString(ServiceName)) AS services
    FROM ${source}
    PREWHERE ${window} AND ${sampled_error}
    GROUP BY TraceId
)
