"""``run_doctor``: every check over one window, in ``checks.NAMES`` order, sharing queries
through ``Facts``; the findings sorted most severe first."""

from __future__ import annotations

import time

from spanhouse.analysis.doctor.checks import CHECKS
from spanhouse.analysis.doctor.context import Context
from spanhouse.analysis.doctor.facts import Facts
from spanhouse.analysis.doctor.options import MINUTE, DoctorOptions, check_options
from spanhouse.analysis.doctor.relations import INT64_MAX, with_sample
from spanhouse.analysis.doctor.report import SEVERITIES, DoctorReport, Finding
from spanhouse.analysis.store import AnalysisReader
from spanhouse.query.sqlutil import check_window


def _context(store: AnalysisReader, start_ns: int, end_ns: int,
             options: DoctorOptions) -> Context:
    """The window's context: its lookup margins, the settled limit, and the whole minutes the
    span stats answer for (when the store has the stats and the span graph)."""
    now = options.now_ns if options.now_ns is not None else time.time_ns()
    params = {"start": start_ns, "end": end_ns, "m0": 0, "m1": 0,
              "lo": max(start_ns - options.window_margin_ns, 0),
              "hi": min(end_ns + options.window_margin_ns, INT64_MAX),
              "settled": min(end_ns, max(now - options.settle_ns, 0))}
    tables = store.tables()
    first, last = -(-start_ns // MINUTE) * MINUTE, (end_ns + 1) // MINUTE * MINUTE
    if tables.span_stats and tables.span_graph and last > first:   # whole minutes
        params.update(m0=first, m1=last)
    return Context(store, tables, params, options)


def run_doctor(store: AnalysisReader, start_ns: int, end_ns: int,
               options: DoctorOptions | None = None) -> DoctorReport:
    """Every check over the spans of ``[start_ns, end_ns]`` (Unix ns). Raises ``InvalidInput``
    for a bad window or option, ``StoreError`` when the store fails."""
    started = time.perf_counter()
    start_ns, end_ns = check_window(start_ns, end_ns)
    options = check_options(options or DoctorOptions())
    facts = Facts(_context(store, start_ns, end_ns, options))
    findings: list[Finding] = []
    for check in CHECKS:
        if check.relations:
            finding = with_sample(check.run(facts.relations, facts), facts.sample)
        else:
            finding = check.run(facts.ctx, facts)
        if finding is not None:
            findings.append(finding)
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))   # stable: check order in a level
    return DoctorReport(start_ns=start_ns, end_ns=end_ns, findings=tuple(findings),
                        sampling=facts.sampling, business_keys=facts.business_keys,
                        elapsed_ms=(time.perf_counter() - started) * 1000,
                        settled_ns=facts.ctx.params["settled"])
