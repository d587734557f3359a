"""The catalog: ``services``, ``operations`` and ``dependencies``.

- ``services``: ``DISTINCT ServiceName``: the first primary key column, LowCardinality, one
  small column over the table.
- ``operations``: ``DISTINCT (SpanName, SpanKind)``; with a service, the primary key prefix
  ``ServiceName = {service:String}`` reads only that service's granules. Kinds are returned as
  Jaeger spells them (``"server"``, ``"client"``, ``"producer"``, ``"consumer"``,
  ``"internal"``, ``""``), from either stored spelling (``"Server"`` or the legacy
  ``"SPAN_KIND_SERVER"``); a kind filter binds every stored spelling as an
  ``{kinds:Array(String)}`` parameter.
- ``dependencies``: child spans hash-joined to parent spans of the window on UInt64 keys
  (``cityHash64(TraceId, ParentSpanId)`` = ``cityHash64(TraceId, SpanId)``), counted per
  (parent service, child service) where they differ; a child with status Error is an error
  call. Both spans must start in the window. Each edge also carries its estimates (calls and
  errors weighted by AdjustedCount) and the weighted p50 / p95 of the callee's span duration.
  After the calls come the edges where the trace context was lost
  (``sql/dependencies_lost.sql``, kind "context_lost"): CLIENT spans without any child that
  name a service of the window as their peer (children are looked for up to ``LATE_NS``
  after the window's end, so a call at its very end is not taken for a lost one), read from
  the span graph addition when the store has it (small columns, in time order), else from
  the traces table, with the same answer.
"""

from __future__ import annotations

from spanhouse.errors import InvalidInput
from spanhouse.query.model import Dependency, Operation
from spanhouse.query.sqlutil import (
    JAEGER_KIND, KIND_SPELLINGS, Tables, check_text, check_window, render, run,
)


def services(client, tables: Tables) -> list[str]:
    rows = run(client, render("services.sql", **tables.fragments), {}, "listing services")
    return sorted(row[0] for row in rows)


def operations(client, tables: Tables, service: str | None = None,
               span_kind: str | None = None) -> list[Operation]:
    params, filters = {}, []
    if service is not None:
        params["service"] = check_text(service, "service")
        filters.append(" AND ServiceName = {service:String}")
    if span_kind is not None:
        if not isinstance(span_kind, str) or span_kind.lower() not in KIND_SPELLINGS:
            raise InvalidInput(f"span kind must be one of server, client, producer, consumer, "
                               f"internal or '' (unspecified), not {span_kind!r}")
        params["kinds"] = KIND_SPELLINGS[span_kind.lower()]
        filters.append(" AND SpanKind IN {kinds:Array(String)}")
    sql = render("operations.sql", **tables.fragments, filters="".join(filters))
    found = {(name, JAEGER_KIND.get(kind, "")) for name, kind in run(client, sql, params,
                                                                      "listing operations")}
    return [Operation(name, kind) for name, kind in sorted(found)]


LATE_NS = 60 * 1_000_000_000
# dependencies_lost.sql's fragments over the traces table, or over the span graph addition.
_TARGET = ("lower(multiIf("
           "SpanAttributes['peer.service'] != '', SpanAttributes['peer.service'], "
           "SpanAttributes['server.address'] != '', SpanAttributes['server.address'], "
           "SpanAttributes['net.peer.name'] != '', SpanAttributes['net.peer.name'], "
           "SpanAttributes['http.url'] != '', domain(SpanAttributes['http.url']), "
           "domain(SpanAttributes['url.full'])))")


def _lost_fragments(tables: Tables) -> dict[str, str]:
    if tables.span_graph is not None:
        return {"spans": tables.span_graph, "target": "toString(Target)", "w": "Weight",
                "err": "IsError = 1", "hash": "SpanHash", "parent_hash": "ParentHash",
                "has_parent": "ParentHash != 0", "window": tables.fragments["window"]}
    return {"spans": tables.traces, "target": _TARGET, "w": tables.weight,
            "err": tables.fragments["is_error"], "hash": "cityHash64(TraceId, SpanId)",
            "parent_hash": "cityHash64(TraceId, ParentSpanId)", "has_parent": "ParentSpanId != ''",
            "window": tables.fragments["window"]}


def _quantiles(q, stored: int) -> tuple[float | None, float | None]:
    return (float(q[0]), float(q[1])) if stored and q else (None, None)


def dependencies(client, tables: Tables, start_ns: int, end_ns: int) -> list[Dependency]:
    """The calls between services (by parent, child), then the context-lost edges."""
    start, end = check_window(start_ns, end_ns)
    rows = run(client, render("dependencies.sql", **tables.fragments),
               {"start": start, "end": end}, "dependencies")
    out = [Dependency(parent, child, int(calls), int(errors), float(est), float(est_err),
                      *_quantiles(q, int(calls)))
           for parent, child, calls, errors, est, est_err, q in rows]
    lost = run(client, render("dependencies_lost.sql", **_lost_fragments(tables)),
               {"start": start, "end": end, "late": min(end + LATE_NS, 2 ** 63 - 1),
                "client_kinds": KIND_SPELLINGS["client"],
                "server_kinds": KIND_SPELLINGS["server"]}, "dependencies: lost context")
    out += [Dependency(caller, callee, int(calls), int(errors), float(est), float(est_err),
                       *_quantiles(q, int(calls)), kind="context_lost", peer=peer)
            for caller, callee, calls, errors, est, est_err, q, peer in lost]
    return out
