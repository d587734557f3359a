-- doctor: one example trace id per (service, span name) of {services} x {names} in the window
-- (the id-like span names doctor_window.sql found, asked only when it flags them).
SELECT toString(ServiceName) AS service, toString(SpanName) AS name, any(TraceId) AS trace
FROM ${traces}
PREWHERE ${window} AND ServiceName IN {services:Array(String)} AND SpanName IN {names:Array(String)}
GROUP BY service, name
