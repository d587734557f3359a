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
  (empty status messages are not listed), ranked by the estimate; the operations also by
  (name, route, peer) (``TopOperation``: "POST /charge → payment" rather than "POST").
- Errors over time (``sql/errors_series.sql``): per service, the estimated error requests,
  error spans and requests of every bucket of the window (``step_ns``: a round step giving
  at most ``MAX_BUCKETS`` buckets; buckets start at multiples of the step, Unix time).
- ``origin_first``: the order the API shows (origin services first, then by estimated error
  spans); the reader itself returns the rows by stored error spans.

With Spanhouse's ``{table}_entry_error_spans`` addition (entry and error spans only, filled by
a view; ``sql/errors_by_service_spans.sql``, the same ``sql/errors_top.sql``) the same figures come
from that small table: the traces table would have to read ``TraceId``/``SpanId`` in nearly
every granule of the window, since error spans are scattered over all of them. On a table
created by the collector's exporter the traces table is read as above.
"""

from __future__ import annotations

from spanhouse.query.model import ErrorBucket, ServiceErrors, TopOperation
from spanhouse.query.sqlutil import Tables, check_window, render, run

TOP = 5
MAX_BUCKETS = 60
_S = 1_000_000_000
STEPS_NS = tuple(n * _S for n in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                  7200, 10800, 21600, 43200, 86400, 7 * 86400))
ROLE_RANK = {"origin": 0, "both": 1, "propagates": 2}


def step_ns(start_ns: int, end_ns: int) -> int:
    """The smallest round step giving at most ``MAX_BUCKETS`` buckets over the window."""
    for step in STEPS_NS:
        if end_ns // step - start_ns // step + 1 <= MAX_BUCKETS:
            return step
    return max(STEPS_NS[-1], -(-(end_ns - start_ns) // (MAX_BUCKETS - 1)))


def origin_first(rows: list[ServiceErrors]) -> list[ServiceErrors]:
    """Origin services first (then origin + propagates, then propagates), each by estimated
    error spans, then name."""
    return sorted(rows, key=lambda e: (ROLE_RANK.get(e.role, 3), -e.estimated_error_spans,
                                       e.service))


def _series(client, tables: Tables, params: dict, step: int, services: set[str]
            ) -> dict[str, tuple[ErrorBucket, ...]]:
    if tables.entry_error is not None:
        fragments = {"source": f"{tables.entry_error} PREWHERE {tables.fragments['window']}",
                     "w": "Weight", "err": "IsError = 1", "entry": "IsEntry = 1"}
    else:
        f = tables.fragments
        fragments = {"source": f"{tables.traces} PREWHERE {f['window']} "
                               f"AND ({f['is_error']} OR {f['is_entry']})",
                     "w": tables.weight, "err": f["is_error"], "entry": f["is_entry"]}
    found: dict[tuple[str, int], tuple[float, float, float]] = {}
    for service, bucket, errors, error_spans, requests in run(
            client, render("errors_series.sql", **fragments), {**params, "step": step},
            "errors over time"):
        if service in services:
            found[(service, int(bucket))] = (float(errors), float(error_spans), float(requests))
    first, last = params["start"] // step, params["end"] // step
    return {service: tuple(ErrorBucket(b * step, *found.get((service, b), (0.0, 0.0, 0.0)))
                           for b in range(first, last + 1)) for service in services}


def errors_by_service(client, tables: Tables, start_ns: int, end_ns: int) -> list[ServiceErrors]:
    start, end = check_window(start_ns, end_ns)
    params = {"start": start, "end": end}
    spans = tables.entry_error is not None            # Spanhouse's entry/error spans table
    main_sql = "errors_by_service_spans.sql" if spans else "errors_by_service.sql"
    rows = run(client, render(main_sql, **tables.fragments), params, "errors by service")
    if not rows:
        return []
    tops: dict[tuple[str, str], list[tuple]] = {}
    top_sql = render("errors_top.sql", **tables.fragments, error_spans=tables.error_spans,
                     w="Weight" if spans else tables.weight)
    for what, service, text, route, peer, n, est in run(client, top_sql, params, "top errors"):
        tops.setdefault((what, service), []).append((text, int(n), float(est), route, peer))
    for entries in tops.values():
        entries.sort(key=lambda e: (-e[2], -e[1], e[0], e[3], e[4]))
    step = step_ns(start, end)
    series = _series(client, tables, params, step, {row[0] for row in rows})
    out = []
    for (service, error_spans, error_traces, requests, error_requests, est_errors, est_requests,
         est_error_requests, origin_spans) in rows:
        error_spans, origin_spans = int(error_spans), int(origin_spans)
        role = ("origin" if origin_spans == error_spans
                else "propagates" if origin_spans == 0 else "both")
        messages = tops.get(("message", service), [])[:TOP]
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
            top_messages=tuple((m[0], m[1]) for m in messages),
            top_operations=tuple((o[0], o[1]) for o in tops.get(("operation", service), [])[:TOP]),
            estimated_error_requests=float(est_error_requests),
            message_estimates=tuple(m[2] for m in messages),
            operation_details=tuple(TopOperation(name, n, est, route, peer) for
                                    name, n, est, route, peer in
                                    tops.get(("detail", service), [])[:TOP]),
            series=series[service],
            series_step_ns=step,
        ))
    out.sort(key=lambda e: (-e.error_spans, e.service))
    return out
