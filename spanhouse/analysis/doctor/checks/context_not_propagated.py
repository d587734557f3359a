"""``context_not_propagated`` (high): the trace context is lost between services, so traces
are broken into pieces.

Flags (a) fragments: spans whose parent span never arrives (``orphan``), traces with several
roots (``multi_root``); (b) broken edges: CLIENT spans of service A with no child at all while
service B, which the client span names (``peer.service``, ``server.address``,
``net.peer.name``, the host of ``http.url``/``url.full``), reported SERVER spans at that time
(``doctor_edges_named.sql``); or, when the client span names nobody, B's SERVER *roots* keep
starting inside A's childless client spans (``doctor_edges_timing.sql``).

Why it matters: a request whose trace is in pieces cannot be followed across services; its
waterfall, critical path and error attribution all stop at the break.

Its count is of broken calls (client spans) plus broken traces: stored, and estimated (the sum
of their AdjustedCount; a trace's weight is its spans' largest), from the same queries.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import MAX_EXAMPLES, estimated, examples, join
from spanhouse.analysis.doctor.report import Finding


def _named_edges(ctx: Context, facts: Facts) -> list[tuple]:
    """(caller, callee, calls, broken, broken estimated, examples) of the calls naming their
    callee, where enough of them have no child."""
    servers = ctx.rows("doctor_servers.sql", "server services") if facts.kinds.named else []
    if not servers:
        return []
    rows = ctx.rows("doctor_edges_named.sql", "named calls",
                    callees=[s[0].lower() for s in servers],
                    firsts=[int(s[1]) for s in servers], lasts=[int(s[2]) for s in servers])
    by_lower = {s[0].lower(): s[0] for s in servers}
    return [(caller, by_lower.get(callee, callee), calls, broken, est, found)
            for caller, callee, calls, broken, est, found in rows
            if broken / max(calls, 1) >= ctx.t.broken_edge_min_share]


def _timing_edges(ctx: Context, facts: Facts) -> list[tuple]:
    """(caller, operation, candidates, callee, matched, matched estimated, examples, callee
    examples) of the calls naming nobody whose callee's roots start inside them often enough."""
    if not facts.kinds.unnamed:
        return []
    t = ctx.t
    return [r for r in ctx.rows("doctor_edges_timing.sql", "unnamed calls",
                                max_gap=t.timing_max_gap_ns, tolerance=t.clock_skew_tolerance_ns)
            if r[4] >= t.timing_min_matches and r[4] / max(r[2], 1) >= t.timing_min_share]


def _edges(ctx: Context, facts: Facts) -> list[dict]:
    """The broken edges, named and timed, merged per (caller, callee); most broken first."""
    edges: dict[tuple[str, str], dict] = {}
    for caller, callee, calls, broken, est, found in _named_edges(ctx, facts):
        edges[(caller, callee)] = {"caller": caller, "callee": callee, "evidence": "attributes",
                                   "broken_calls": int(broken), "calls": int(calls),
                                   "broken_estimated": float(est),
                                   "examples": list(found), "callee_examples": []}
    for caller, operation, candidates, callee, matched, est, found, callee_found in (
            _timing_edges(ctx, facts)):
        edge = edges.setdefault((caller, callee), {
            "caller": caller, "callee": callee, "evidence": "timing", "broken_calls": 0,
            "calls": 0, "broken_estimated": 0.0, "examples": [], "callee_examples": [],
            "operations": []})
        edge["broken_calls"] += int(matched)
        edge["broken_estimated"] += float(est)
        edge["calls"] += int(candidates)
        edge["examples"] = (edge["examples"] + list(found))[:MAX_EXAMPLES]
        edge["callee_examples"] = (edge["callee_examples"] + list(callee_found))[:MAX_EXAMPLES]
        edge.setdefault("operations", []).append(operation)
    return sorted(edges.values(), key=lambda e: (-e["broken_calls"], e["caller"], e["callee"]))


def _fix(edge_list: list[dict], frag_list: list[dict]) -> str:
    parts = []
    if edge_list:
        pairs = join(f"{e['caller']} → {e['callee']}" for e in edge_list)
        callers = join(e["caller"] for e in edge_list)
        callees = join(e["callee"] for e in edge_list)
        count = estimated(sum(e["broken_estimated"] for e in edge_list),
                          sum(e["broken_calls"] for e in edge_list), "calls")
        parts.append(
            f"The calls {pairs} lose the trace context ({count}): propagate W3C traceparent on them "
            f"(instrument the HTTP/gRPC client library of {callers}, or propagate.inject() "
            "into the outgoing headers; OTEL_PROPAGATORS=tracecontext,baggage) and extract "
            f"it with the server instrumentation of {callees}.")
    orphans = [f for f in frag_list if f["problem"] == "orphan"]
    multi = [f["service"] for f in frag_list if f["problem"] == "multi_root"]
    if orphans:
        traces = estimated(sum(f["estimated_traces"] for f in orphans),
                           sum(f["traces"] for f in orphans), "traces")
        parts.append(
            f"Spans of {join(f['service'] for f in orphans)} point at parent spans that never "
            f"arrive ({traces}): instrument "
            "and export every service on the path, with a ParentBased sampler so all of "
            "them keep the same traces.")
    if multi:
        parts.append(
            f"{join(multi)} start extra root spans inside existing traces: create spans "
            "from the extracted context (not a fresh one) so they attach to their caller.")
    return " ".join(parts)


def context_not_propagated(ctx: Context, facts: Facts) -> Finding | None:
    edge_list = _edges(ctx, facts)
    frag_list = [{"problem": problem, "service": service, "traces": int(traces),
                  "estimated_traces": float(est), "examples": list(found)}
                 for problem, service, traces, est, _max, found in facts.shapes
                 if problem in ("orphan", "multi_root")]
    if not edge_list and not frag_list:
        return None
    services = [f"{e['caller']} → {e['callee']}" for e in edge_list]
    services += [f["service"] for f in frag_list]
    return Finding(
        code="context_not_propagated",
        title="Trace context is not propagated: traces are broken into pieces",
        severity="high",
        count=sum(e["broken_calls"] for e in edge_list) + sum(f["traces"] for f in frag_list),
        estimated_count=(sum(e["broken_estimated"] for e in edge_list)
                         + sum(f["estimated_traces"] for f in frag_list)),
        services=tuple(dict.fromkeys(services)),
        examples=examples(*[e["examples"] for e in edge_list],
                          *[e["callee_examples"] for e in edge_list],
                          *[f["examples"] for f in frag_list]),
        fix=_fix(edge_list, frag_list),
        details=(("broken_calls", edge_list), ("fragments", frag_list)))


CHECK = Check("context_not_propagated", context_not_propagated, relations=True)
