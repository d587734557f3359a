-- Compare: one row per trace of the window (a trace = the spans of one TraceId in the
-- window), keyed by h = cityHash64(TraceId) (a number groups much faster than the id; a
-- collision merges two traces, about once in 2^32 pairs). Rendered as ${trace} into the other
-- compare_*.sql templates, with ${span_filter} (more span conditions), ${pairs} (more
-- columns) and ${root_filter} (the --service/--operation narrowing, on the root) filled in.
-- Root = a span without parent (the earliest when several); without a root, the earliest span.
-- duration: the root's Duration, else last span end - first span start (query/model.py).
-- weight: the root's adjusted count, else the trace's largest (a trace kept at 5% weighs 20).
SELECT
    cityHash64(TraceId) AS h,
    countIf(ParentSpanId = '') > 0 AS has_root,
    if(has_root, toInt64(argMinIf(Duration, Timestamp, ParentSpanId = '')),
       max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration))
       - min(toUnixTimestamp64Nano(Timestamp))) AS duration,
    toFloat64(if(has_root, argMinIf(${weight}, Timestamp, ParentSpanId = ''),
       max(${weight}))) AS weight,
    countIf(${is_error}) > 0 AS has_error,
    if(has_root, argMinIf(ServiceName, Timestamp, ParentSpanId = ''),
       argMin(ServiceName, Timestamp)) AS root_service,
    if(has_root, argMinIf(SpanName, Timestamp, ParentSpanId = ''),
       argMin(SpanName, Timestamp)) AS root_operation${pairs}
FROM ${traces}
PREWHERE ${window}${span_filter}
GROUP BY h
HAVING 1${root_filter}
