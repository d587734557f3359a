-- doctor: the error spans of the window kept with a weight above 1 (errors that were sampled:
-- for each one kept, others were dropped), asked only when doctor_window.sql counted some:
-- their traces, up to 5 example trace ids and up to 20 of their services. ${source} is the
-- entry/error spans table when the store has it (its error spans are one range of its
-- ORDER BY), else the traces table; ${sampled_error} the test in that table's columns.
SELECT
    uniqExact(TraceId) AS traces,
    groupUniqArray(5)(TraceId) AS examples,
    groupUniqArray(20)(toString(ServiceName)) AS services
FROM ${source}
PREWHERE ${window} AND ${sampled_error}
