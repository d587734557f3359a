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
  call. Both spans must start in the window.
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


def dependencies(client, tables: Tables, start_ns: int, end_ns: int) -> list[Dependency]:
    start, end = check_window(start_ns, end_ns)
    rows = run(client, render("dependencies.sql", **tables.fragments),
               {"start": start, "end": end}, "dependencies")
    return [Dependency(parent, child, int(calls), int(errors))
            for parent, child, calls, errors in rows]
