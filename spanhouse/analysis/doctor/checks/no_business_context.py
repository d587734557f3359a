"""``no_business_context`` (medium): entry spans nobody can search for.

Flags services most of whose entry spans (SERVER/CONSUMER or roots) carry none of the keys
people search by: the configured ones (``user.id``, ``order.id``, ``tenant.id``) plus the ones
*learned* from the data (those and other ``*.id`` keys on entry spans: ``Facts.business_keys``),
once a service has ``thresholds.business_min_entry_spans`` entry spans to judge by.

Why it matters: "show me the traces of this customer's failed order" is the question traces
are opened for; without a business key on the entry span, it has no answer.

Its count is of entry spans: stored, and estimated (the sum of their AdjustedCount, in the same
query).
"""

from __future__ import annotations

from spanhouse.analysis.doctor.check import Check
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts, business_context
from spanhouse.analysis.doctor.formatting import MAX_EXAMPLES, estimated, examples, join
from spanhouse.analysis.doctor.report import Finding


def _lacking(ctx: Context, keys: tuple[str, ...]) -> list[tuple]:
    """(service, entry spans, missing, examples, missing estimated) of the services whose
    entry spans lack every key too often."""
    t = ctx.t
    totals: dict[str, list] = {}
    for service, entry, missing, est, *found in ctx.counted(
            "doctor_business_context.sql", "doctor_business_stats.sql", "business context",
            keys=list(keys)):
        total = totals.setdefault(service, [0, 0, [], 0.0])
        total[0] += int(entry)
        total[1] += int(missing)
        total[2] += list(found[0]) if found else []
        total[3] += float(est)
    rows = [(service, entry, missing, found, est)
            for service, (entry, missing, found, est) in sorted(totals.items())
            if entry >= t.business_min_entry_spans
            and missing / entry > t.business_max_missing_share]
    if rows and ctx.uses_stats:   # the stats have no trace ids: the examples, for these only
        more = dict(ctx.rows("doctor_examples_business.sql", "business context examples",
                             keys=list(keys), services=[r[0] for r in rows]))
        rows = [(service, entry, missing,
                 list(dict.fromkeys(found + list(more.get(service, ()))))[:MAX_EXAMPLES], est)
                for service, entry, missing, found, est in rows]
    return rows


def no_business_context(ctx: Context, facts: Facts) -> Finding | None:
    keys = facts.business_keys
    if not keys:
        return None
    rows = _lacking(business_context(ctx), keys)
    if not rows:
        return None
    count, estimate = sum(int(r[2]) for r in rows), sum(r[4] for r in rows)
    return Finding(
        code="no_business_context",
        title="Entry spans without business context (nothing to search them by)",
        severity="medium", count=count, estimated_count=estimate,
        services=tuple(r[0] for r in rows), examples=examples(*[r[3] for r in rows]),
        fix=(f"{estimated(estimate, count, 'entry spans')} of {join(r[0] for r in rows)} carry "
             f"no business key: set {', '.join(keys[:3])} (whichever applies) on them, with "
             "span.set_attribute() in the request middleware or message handler, or copy them "
             "from W3C baggage with a baggage span processor, so 'spanhouse find user.id=...' "
             "finds their traces."),
        details=(("keys", list(keys)),
                 ("by_service", [{"service": r[0], "entry_spans": int(r[1]),
                                  "missing": int(r[2]), "missing_estimated": r[4],
                                  "share": r[2] / r[1], "examples": list(r[3])}
                                 for r in rows])))


CHECK = Check("no_business_context", no_business_context)
