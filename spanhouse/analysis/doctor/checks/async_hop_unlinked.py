"""``async_hop_unlinked`` (high): queue hops lose the trace.

Flags PRODUCER spans with no CONSUMER/SERVER child and no span linking to them, and CONSUMER
spans that are roots without a link (``doctor_async.sql``), when they are at least
``thresholds.async_min_share`` of their kind for a (service, destination).

Why it matters: the work done after a queue (often most of it) shows up as unrelated traces,
so a slow or failing request cannot be followed past its first hop.

Its count is of unlinked spans: stored, and estimated (the sum of their AdjustedCount), from the
same query.
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.formatting import estimated, examples, join
from spanhouse.analysis.doctor.report import Finding


def _services(rows: list[tuple]) -> list[str]:
    """Whom the finding names: ``producer → consumer`` when a consumer service reads the
    producer's destination, else the producer or the consumer service alone."""
    producers = [r for r in rows if r[0] == "producer"]
    consumers = [r for r in rows if r[0] == "consumer_root"]
    services: list[str] = []
    paired_consumers: set[tuple[str, str]] = set()
    for _, producer, dest, *_ in producers:
        matches = [c for c in consumers if dest and c[2] == dest]
        if matches:
            for c in matches:
                services.append(f"{producer} → {c[1]}")
                paired_consumers.add((c[1], c[2]))
        else:
            services.append(producer)
    services += [c[1] for c in consumers if (c[1], c[2]) not in paired_consumers]
    return services


def async_hop_unlinked(ctx: Context, facts: Facts) -> Finding | None:
    if not facts.kinds.producers and not facts.kinds.consumers:
        return None
    share = ctx.t.async_min_share
    # (what, service, destination, spans, unlinked, unlinked estimated, examples)
    rows = [r for r in ctx.rows("doctor_async.sql", "queue hops")
            if r[4] > 0 and r[4] / max(r[3], 1) >= share]
    if not rows:
        return None
    producers = [r[1] for r in rows if r[0] == "producer"]
    consumers = [r[1] for r in rows if r[0] == "consumer_root"]
    detail = [{"kind": what, "service": service, "destination": dest, "spans": int(spans),
               "unlinked_spans": int(unlinked), "unlinked_estimated": float(est),
               "examples": list(found)}
              for what, service, dest, spans, unlinked, est, found in rows]
    count, estimate = sum(int(r[4]) for r in rows), sum(float(r[5]) for r in rows)
    fix = (f"{estimated(estimate, count, 'spans').capitalize()} cross a queue unconnected. "
           "Inject the trace context into the message headers where "
           f"{join(producers) or 'the producer'} publishes and extract it in "
           f"{join(consumers) or 'the consumer'} (the messaging instrumentation "
           "of your client library, or propagate.inject()/extract() by hand); start the "
           "consumer span as a child of the producer span, or link to it when consuming a batch.")
    return Finding(
        code="async_hop_unlinked",
        title="Queue hops lose the trace: producer and consumer spans are not connected",
        severity="high", count=count, estimated_count=estimate,
        services=tuple(dict.fromkeys(_services(rows))),
        examples=examples(*[r[6] for r in rows]), fix=fix,
        details=(("spans", detail),))


CHECK = Check("async_hop_unlinked", async_hop_unlinked, relations=True)
