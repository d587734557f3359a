-- doctor: per service of {services}, its spans lasting 0 ns or over {max_duration} ns in the
-- window (asked only for the services doctor_window.sql flagged): how many are stored, the
-- estimate of how many there were (sum of ${weight}, AdjustedCount: the span stats count them
-- unweighted), and up to 5 example trace ids.
SELECT toString(ServiceName) AS service, count() AS spans,
       sum(toFloat64(${weight})) AS estimated, groupArray(5)(TraceId) AS examples
FROM ${traces}
PREWHERE ${window} AND ServiceName IN {services:Array(String)}
    AND (Duration = 0 OR Duration > {max_duration:UInt64})
GROUP BY service
