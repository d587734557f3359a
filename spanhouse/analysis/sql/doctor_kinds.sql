-- doctor: a cheap look at the spans the relation checks start from, so that each of their
-- queries (every one builds a set over the lookup window) runs only when it has work. Over the
-- window of ${graph} (see doctor_traces.sql):
--   named      CLIENT spans started before {settled} naming a callee: doctor_edges_named.sql
--   unnamed    CLIENT spans started before {settled} naming none and no database or messaging
--              call: doctor_edges_timing.sql
--   producers  PRODUCER spans started before {settled}, consumers: CONSUMER spans:
--              doctor_async.sql
--   calls      SERVER spans with a parent: doctor_clock_skew.sql
SELECT
    countIf(is_client AND settled AND Target != '') AS named,
    countIf(is_client AND settled AND Unnamed = 1) AS unnamed,
    countIf(SpanKind IN ${producer_kinds} AND settled) AS producers,
    countIf(SpanKind IN ${consumer_kinds}) AS consumers,
    countIf(SpanKind IN ${server_kinds} AND ParentHash != 0) AS calls
FROM (
    SELECT SpanKind, ParentHash, Target, Unnamed,
           SpanKind IN ${client_kinds} AS is_client,
           Timestamp <= fromUnixTimestamp64Nano({settled:Int64}) AS settled
    FROM ${graph}
    WHERE ${window} AND SpanKind IN ${relation_kinds}
)
