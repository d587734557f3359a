-- doctor: up to 5 example trace ids per service of {services} of spans lasting 0 ns or over
-- {max_duration} ns in the window (asked only for the services doctor_window.sql flagged).
SELECT toString(ServiceName) AS service, groupArray(5)(TraceId) AS examples
FROM ${traces}
PREWHERE ${window} AND ServiceName IN {services:Array(String)}
    AND (Duration = 0 OR Duration > {max_duration:UInt64})
GROUP BY service
