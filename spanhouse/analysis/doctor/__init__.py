"""The trace doctor: what is wrong with the traces themselves (``spanhouse doctor``,
``/api/v1/doctor``).

``run_doctor(store, start_ns, end_ns, options)`` runs every check over the spans of a window
and returns a ``DoctorReport``: ``Finding``s (most severe first) and the sampling figures.
A clean, well-instrumented data set yields no finding. The checks, after the "Common Mistakes"
of tracing, one module each in ``checks/`` (its docstring says what it flags and why it
matters): ``context_not_propagated``, ``async_hop_unlinked``, ``no_business_context``,
``over_sampling``, ``under_sampling``, ``errors_sampled_away``, ``clock_skew``,
``bad_duration``, ``huge_traces``, ``high_cardinality_span_names``.

Layout:

- ``options``: ``DoctorOptions`` and ``Thresholds`` (when each check reports), validated;
- ``report``: ``Finding``, ``SamplingSummary``, ``DoctorReport`` and their JSON;
- ``context``: the window's parameters and the SQL fragments the templates are rendered with;
- ``facts``: the queries several checks share, each run once per report when first needed
  (with ``sampling`` and ``relations`` for the sampling figures and the relation checks);
- ``check`` and ``checks/``: what a check is, and the checks;
- ``runner``: ``run_doctor``; ``formatting``: how findings word their figures.

Counts under sampling: a stored span stands for ``AdjustedCount`` spans (``tables.weight``;
1 on tables the collector's exporter created). Every finding counts its spans or traces twice
in the same ClickHouse query: ``estimated_count`` (the sum of their weights; a trace weighs its
spans' largest) and the stored ``count``; its ``fix`` quotes "est. N spans (M stored)"
(``formatting.estimated``). Distinct span names are not sampled units: their estimate is their
count.

Adding a check: write ``checks/<code>.py`` with a docstring (the mistake, why it matters), a
function ``(ctx: Context, facts: Facts) -> Finding | None`` and
``CHECK = Check("<code>", <function>)`` (``relations=True`` for a check of relations between
spans: see below), then add ``"<code>"`` to ``checks.NAMES``. Its SQL goes in
``spanhouse/analysis/sql/doctor_<name>.sql``; a query another check needs too goes in
``Facts``.

Window handling: the spans checked are those of ``[start, end]``; a *missing* parent, child or
link is looked up in the window widened by ``options.window_margin_ns`` on both sides (so an
edge crossing the window's border is not a false alarm), and spans of the last
``options.settle_ns`` before now are not accused of missing relatives (those may not be
exported yet).

Big windows: the checks of relations between spans (``context_not_propagated``,
``async_hop_unlinked``, ``clock_skew``, ``huge_traces``) join every span of their lookup
window with the others, so their cost grows with the window. When the window holds more than
``options.max_checked_spans`` spans (default 300,000; 0: no limit), they run over a slice of it
holding about that many (its latest settled part), with relatives looked up within
``min(window_margin_ns, slice length)`` of the slice: a deterministic sample, whose counts and
examples are the slice's. Their findings then say so in ``details["sample"]`` (the slice, the
window's span count, the limit). The other checks always read the whole window.

SQL where the data is big (``spanhouse/analysis/sql/doctor_*.sql``, package data): each check
is one or two queries over the window, aggregated in ClickHouse, examples bounded with
``groupArray(5)`` (or fetched afterwards, for a finding only); every value reaches SQL as a
bound parameter. Only fixed fragments (``spanhouse.query.sqlutil``, ``context``) are
formatted in. The store is read through ``spanhouse.analysis.store.AnalysisReader``.

Two of Spanhouse's schema additions make an hour of a busy system cheap (``docs/storage.md``):
the counting checks (sampling, durations, span names, business context) read the span stats
(``{table}_span_stats``: counts per minute) for the whole minutes of the window and the spans
only for its partial first and last minutes; the relation checks read the span graph
(``{table}_span_graph``: ids as hashes, in time order). Without them (a table the collector's
exporter created) the same SQL reads the traces table, with the same report (tested).
The span stats hold only the entry spans' ``*.id`` keys: with a configured business key not
ending in ``.id``, business context reads the spans.
"""

from spanhouse.analysis.doctor.facts import TECHNICAL_PREFIXES
from spanhouse.analysis.doctor.options import (DEFAULT_BUSINESS_KEYS, MAX_BUSINESS_KEYS,
                                               DoctorOptions, Thresholds)
from spanhouse.analysis.doctor.report import (SEVERITIES, DoctorReport, Finding,
                                              PolicySampling, SamplingSummary)
from spanhouse.analysis.doctor.runner import run_doctor

__all__ = ["run_doctor", "DoctorOptions", "Thresholds", "DoctorReport", "Finding",
           "SamplingSummary", "PolicySampling", "SEVERITIES", "DEFAULT_BUSINESS_KEYS",
           "MAX_BUSINESS_KEYS", "TECHNICAL_PREFIXES"]
