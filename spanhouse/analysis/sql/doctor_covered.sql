-- doctor: the time the window's data actually covers (its first and last span start, Unix
-- ns; 0, 0 without spans): the rate figures are per second of it, not of the whole window (a
-- window reaching before the first span, or past the last, would dilute them). ${source}: the
-- span graph (small columns), else the traces table.
SELECT
    if(count() > 0, toUnixTimestamp64Nano(min(Timestamp)), 0) AS first,
    if(count() > 0, toUnixTimestamp64Nano(max(Timestamp)), 0) AS last
FROM ${source}
PREWHERE ${window}
