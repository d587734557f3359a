-- Compare, step 2: the two groups (sel = ${selected}: the selection; else the baseline) with
-- their stored and estimated trace counts, and per group the {cap:UInt32} traces with the
-- smallest h = cityHash64(TraceId), with their weights: the deterministic sample of step 3.
SELECT
    ${selected} AS sel,
    count() AS traces,
    sum(weight) AS estimated,
    groupArraySorted({cap:UInt32})((h, weight)) AS sample
FROM (${trace})
GROUP BY sel
