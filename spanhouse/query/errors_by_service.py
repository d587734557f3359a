"""``errors_by_service``: where errors happen, where they start, how often requests fail.

Two queries over the window (``sql/errors_by_service.sql``, ``sql/errors_top.sql``):

- The per-service aggregate reads only error spans and entry spans (``PREWHERE`` on the window
  and on the small ``StatusCode``/``SpanKind``/``ParentSpanId`` columns). Entry spans
  (kind Server or Consumer, in either spelling, or roots) are the service's *requests*; the
  error rate is error entry spans / requests. Estimated counts weight spans by
  ``AdjustedCount`` (the constant 1 on a table created by the collector's exporter).
- *Origin*: an error span none of whose children (same trace, ``ParentSpanId`` = its
  ``SpanId``) is an error. The children set is built from the window's error spans only and
  probed with ``cityHash64`` keys (``NOT IN``), not a join over all spans. A service whose
  error spans are all origins is an ``origin``, with none a ``propagates``, else ``both``.
  Children are looked for in the same window: an error child starting after ``end_ns`` is
  not seen (its parent then counts as an origin).
- Top messages/operations: exact ``GROUP BY ... LIMIT 5 BY service`` over error spans
  (empty status messages are not listed).

With Spanhouse's ``{table}_entry_error_spans`` addition (entry and error spans only, filled by
a view; ``sql/errors_by_service_spans.sql``, the same ``sql/errors_top.sql``) the same figures come
from that small table: the traces table would have to read ``TraceId``/``SpanId`` in nearly
every granule of the window, since error spans are scattered over all of them. On a table
created by the collector's exporter the traces table is read as above.
"""

from __future__ import annotations

from spanhouse.query.model import ServiceErrors
from spanhouse.query.sqlutil import Tables, check_window, render, run

TOP = 5


def errors_by_service(client, tables: Tables, start_ns: int, end_ns: int) -> list[ServiceErrors]:
    start, end = check_window(start_ns, end_ns)
    params = {"start": start, "end": end}
    spans = tables.entry_error is not None            # Spanhouse's entry/error spans table
    main_sql = "errors_by_service_spans.sql" if spans else "errors_by_service.sql"
    rows = run(client, render(main_sql, **tables.fragments), params, "errors by service")
    if not rows:
        return []
    tops: dict[tuple[str, str], list[tuple[str, int]]] = {}
    top_sql = render("errors_top.sql", error_spans=tables.error_spans)
    for what, service, text, n in run(client, top_sql, params, "top errors"):
        tops.setdefault((what, service), []).append((text, int(n)))
    for entries in tops.values():
        entries.sort(key=lambda e: (-e[1], e[0]))
    out = []
    for (service, error_spans, error_traces, requests, error_requests, est_errors, est_requests,
         est_error_requests, origin_spans) in rows:
        error_spans, origin_spans = int(error_spans), int(origin_spans)
        role = ("origin" if origin_spans == error_spans
                else "propagates" if origin_spans == 0 else "both")
        out.append(ServiceErrors(
            service=service,
            error_spans=error_spans,
            error_traces=int(error_traces),
            requests=int(requests),
            error_rate=int(error_requests) / int(requests) if requests else 0.0,
            estimated_error_spans=float(est_errors),
            estimated_requests=float(est_requests),
            estimated_error_rate=float(est_error_requests) / float(est_requests) if est_requests else 0.0,
            origin_spans=origin_spans,
            role=role,
            top_messages=tuple(tops.get(("message", service), ())[:TOP]),
            top_operations=tuple(tops.get(("operation", service), ())[:TOP]),
        ))
    out.sort(key=lambda e: (-e.error_spans, e.service))
    return out
