-- doctor: doctor_business_context.sql from the span stats of the minutes of the window
-- (${minutes}), whose EntryKeys hold an entry span's keys ending in ".id" (so every key of
-- {keys} must end in ".id"); Weight is the sum of their AdjustedCount (EntryKeys is part of
-- the stats' key, so the missing ones' weight is exact). Example trace ids come from
-- doctor_examples_business.sql.
SELECT
    toString(ServiceName) AS service,
    sum(Spans) AS entry_spans,
    sumIf(Spans, NOT hasAny(EntryKeys, {keys:Array(String)})) AS missing,
    sumIf(Weight, NOT hasAny(EntryKeys, {keys:Array(String)})) AS missing_estimated
FROM ${span_stats}
PREWHERE ${minutes} AND IsEntry = 1
GROUP BY service
ORDER BY service
