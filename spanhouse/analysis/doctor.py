"""The trace doctor: what is wrong with the traces themselves (``spanhouse doctor``,
``/api/v1/doctor``).

``run_doctor(store, start_ns, end_ns, options)`` runs every check over the spans of a window
and returns a ``DoctorReport``: ``Finding``s (most severe first) and the sampling figures.
A clean, well-instrumented data set yields no finding. The checks, after the "Common Mistakes"
of tracing:

``context_not_propagated``
    (a) fragments: spans whose parent span never arrives, traces with several roots;
    (b) broken edges: CLIENT spans of service A with no child at all while service B, which
    the client span names (``peer.service``, ``server.address``, ``net.peer.name``, the host
    of ``http.url``/``url.full``), reported SERVER spans at that time; or, when the client
    span names nobody, B's SERVER *roots* keep starting inside A's childless client spans.
``async_hop_unlinked``
    PRODUCER spans with no CONSUMER/SERVER child and no span linking to them; CONSUMER spans
    that are roots without a link.
``no_business_context``
    services most of whose entry spans (SERVER/CONSUMER or roots) carry none of the keys
    people search by: the configured ones (``user.id``, ``order.id``, ``tenant.id``) plus
    the ones *learned* from the data (those and other ``*.id`` keys on entry spans).
``over_sampling`` / ``under_sampling`` / ``errors_sampled_away``
    the effective sampling rate (stored spans / sum of ``AdjustedCount``) far from 1-5% at a
    real volume; error spans kept with a weight above 1 (so errors were dropped).
``clock_skew``, ``bad_duration``, ``huge_traces``, ``high_cardinality_span_names``.

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
bound parameter. Only fixed fragments (``spanhouse.query.sqlutil``) are formatted in.

Two of Spanhouse's schema additions make an hour of a busy system cheap (``docs/storage.md``):
the counting checks (sampling, durations, span names, business context) read the span stats
(``{table}_span_stats``: counts per minute) for the whole minutes of the window and the spans
only for its partial first and last minutes; the relation checks read the span graph
(``{table}_span_graph``: ids as hashes, in time order). Without them (a table the collector's
exporter created) the same SQL reads the traces table, with the same report (tested).
The span stats hold only the entry spans' ``*.id`` keys: with a configured business key not
ending in ``.id``, business context reads the spans.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any

from spanhouse.analysis.store import AnalysisStore
from spanhouse.errors import InvalidInput
from spanhouse.query.model import rfc3339
from spanhouse.query.sqlutil import (IS_ERROR, WEIGHT_COLUMN, WINDOW, Tables, check_window,
                                     run)
from spanhouse.store.schema import span_graph_columns

SEVERITIES = ("high", "medium", "low")
DEFAULT_BUSINESS_KEYS = ("user.id", "order.id", "tenant.id")
MAX_BUSINESS_KEYS = 50
MAX_KEY_LENGTH = 256
MAX_EXAMPLES = 5
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND

# "*.id" keys of these namespaces identify machinery, not the business: never learned.
TECHNICAL_PREFIXES = (
    "http.", "url.", "net.", "network.", "server.", "client.", "rpc.", "db.", "messaging.",
    "thread.", "process.", "host.", "container.", "k8s.", "cloud.", "faas.", "os.", "otel.",
    "telemetry.", "service.", "span.", "trace.", "code.", "exception.", "aws.", "gcp.",
    "azure.", "deployment.", "device.", "log.", "request.", "event.", "message.", "peer.",
)
_KEY = re.compile(r"^[^\s'\"`\\\x00-\x1f\x7f]+$")


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Thresholds:
    """When a check reports. Defaults are set so that a normal, well-instrumented data set
    passes (see each field)."""

    huge_trace_spans: int = 10_000            # a trace with more spans than this
    broken_edge_min_share: float = 0.05       # named calls A -> B without child, of all A -> B
    timing_min_matches: int = 3               # unnamed: childless client spans matched to roots
    timing_min_share: float = 0.5             # ... out of the caller operation's candidates
    timing_max_gap_ns: int = SECOND           # the root starts at most this long after the client
    async_min_share: float = 0.1              # unlinked producer / consumer-root spans, of all
    business_min_entry_spans: int = 10        # a service needs this many entry spans to judge
    business_max_missing_share: float = 0.5   # report when more entry spans lack every key
    over_sampling_rate: float = 0.25          # effective rate at or above: over-sampling ...
    over_sampling_min_spans_per_second: float = 50.0   # ... when this much is stored
    under_sampling_rate: float = 0.001        # effective rate below: under-sampling ...
    under_sampling_min_estimated_per_second: float = 10.0  # ... of real traffic at least
    clock_skew_tolerance_ns: int = 25_000_000  # server span outside its client span by more
    clock_skew_min_share: float = 0.01        # skewed calls, of all calls of the pair
    zero_duration_min_share: float = 0.05     # spans lasting 0 ns, of the service's spans
    max_span_duration_ns: int = DAY           # longer spans are bad durations
    span_names_max_distinct: int = 1_000      # distinct span names of one service
    span_names_min_id_like: int = 10          # distinct span names holding an id segment


@dataclass(frozen=True)
class DoctorOptions:
    business_keys: tuple[str, ...] = DEFAULT_BUSINESS_KEYS
    learn_business_keys: bool = True          # also accept *.id keys other services carry
    thresholds: Thresholds = field(default_factory=Thresholds)
    window_margin_ns: int = 5 * 60 * SECOND   # lookups of missing relatives extend this far
    settle_ns: int = 2 * 60 * SECOND          # recent spans are not accused of missing relatives
    now_ns: int | None = None                 # "now" for settle_ns (None: the clock)
    learn_limit: int = 200_000                # entry spans read to learn business keys
    # The checks of relations between spans (fragments, broken edges, queue hops, clock skew,
    # huge traces) run over a slice of the window when the window holds more spans than this
    # (0: always the whole window); see ``_relations``.
    max_checked_spans: int = 300_000


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    severity: str                             # "high", "medium" or "low"
    count: int                                # occurrences (see details for their unit)
    services: tuple[str, ...]                 # offending services, "caller → callee" for edges
    examples: tuple[str, ...]                 # up to 5 trace ids
    fix: str
    details: tuple[tuple[str, Any], ...] = ()  # check-specific figures (JSON-ready values)

    def to_json(self) -> dict:
        return {"code": self.code, "title": self.title, "severity": self.severity,
                "count": self.count, "services": list(self.services),
                "examples": list(self.examples), "fix": self.fix, "details": dict(self.details)}


@dataclass(frozen=True)
class PolicySampling:
    policy: str                               # SamplingPolicy ("" when not sampled / unknown)
    spans: int                                # stored spans
    estimated_spans: float                    # sum of AdjustedCount
    rate: float                               # spans / estimated_spans

    def to_json(self) -> dict:
        return {"policy": self.policy, "spans": self.spans,
                "estimated_spans": self.estimated_spans, "rate": self.rate}


@dataclass(frozen=True)
class SamplingSummary:
    spans: int
    estimated_spans: float
    rate: float                               # effective: spans / estimated (1.0 when empty)
    spans_per_second: float                   # stored, over the window
    estimated_spans_per_second: float
    bytes_per_span: float | None              # compressed, on disk (None: unknown)
    bytes_per_day: float | None               # at the stored rate
    error_spans: int
    sampled_error_traces: int                 # traces with an error span kept at weight > 1
    policies: tuple[PolicySampling, ...] = ()

    def to_json(self) -> dict:
        return {"spans": self.spans, "estimated_spans": self.estimated_spans, "rate": self.rate,
                "spans_per_second": self.spans_per_second,
                "estimated_spans_per_second": self.estimated_spans_per_second,
                "bytes_per_span": self.bytes_per_span, "bytes_per_day": self.bytes_per_day,
                "error_spans": self.error_spans,
                "sampled_error_traces": self.sampled_error_traces,
                "policies": [p.to_json() for p in self.policies]}


@dataclass(frozen=True)
class DoctorReport:
    start_ns: int
    end_ns: int
    findings: tuple[Finding, ...]
    sampling: SamplingSummary
    business_keys: tuple[str, ...]            # the keys entry spans were checked for
    elapsed_ms: float

    def to_json(self) -> dict:
        return {"start": rfc3339(self.start_ns), "end": rfc3339(self.end_ns),
                "findings": [f.to_json() for f in self.findings],
                "sampling": self.sampling.to_json(),
                "business_keys": list(self.business_keys),
                "elapsed_ms": round(self.elapsed_ms, 1)}


# ----------------------------------------------------------------------------- SQL
WIDE = ("Timestamp >= fromUnixTimestamp64Nano({lo:Int64}) "
        "AND Timestamp <= fromUnixTimestamp64Nano({hi:Int64})")
# The counting checks read the span stats of the whole minutes [m0, m1) of the window and the
# spans of the rest of it (its partial first and last minutes); without stats m0 = m1 = 0.
MINUTES = ("Minute >= fromUnixTimestamp64Nano({m0:Int64}) "
           "AND Minute < fromUnixTimestamp64Nano({m1:Int64})")
RAW_WINDOW = (WINDOW + " AND NOT (Timestamp >= fromUnixTimestamp64Nano({m0:Int64}) "
              "AND Timestamp < fromUnixTimestamp64Nano({m1:Int64}))")


@lru_cache(maxsize=None)
def _load(name: str) -> str:
    text = resources.files("spanhouse.analysis").joinpath("sql", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def _graph(tables: Tables) -> str:
    """``${graph}``: the span graph addition, else the same columns computed from the traces
    table (the view's select list, ``spanhouse/store/sql/span_graph_columns.sql``, as a
    subquery: the checks filter it with WHERE, which ClickHouse pushes into it and on to
    PREWHERE)."""
    if tables.span_graph is not None:
        return tables.span_graph
    return f"(SELECT {span_graph_columns()} FROM {tables.traces})"


def _render(name: str, tables: Tables, **fragments: str) -> str:
    policy = "toString(SamplingPolicy)" if tables.weight == WEIGHT_COLUMN else "''"
    return Template(_load(name)).substitute(**{**tables.fragments, "wide": WIDE,
                                               "minutes": MINUTES, "policy": policy,
                                               "graph": _graph(tables), **fragments})


@dataclass(frozen=True)
class _Ctx:
    client: Any
    tables: Tables
    params: dict                              # start, end, lo, hi, settled
    options: DoctorOptions

    @property
    def t(self) -> Thresholds:
        return self.options.thresholds

    def rows(self, name: str, what: str, **extra) -> list[tuple]:
        return run(self.client, _render(name, self.tables), {**self.params, **extra},
                   f"doctor: {what}")


# ----------------------------------------------------------------------------- validation
def _check_options(options: DoctorOptions) -> DoctorOptions:
    if not isinstance(options, DoctorOptions):
        raise InvalidInput("options must be DoctorOptions")
    keys = options.business_keys
    if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput("business keys must be a list of strings")
    if len(keys) > MAX_BUSINESS_KEYS:
        raise InvalidInput(f"at most {MAX_BUSINESS_KEYS} business keys")
    for key in keys:
        if not key or len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
            raise InvalidInput(f"business key {key[:64]!r}: expected an attribute key such as "
                               "user.id (no spaces, quotes or control characters)")
    for name in ("window_margin_ns", "settle_ns", "learn_limit", "max_checked_spans"):
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a whole number >= 0")
    return options


# ----------------------------------------------------------------------------- helpers
def _examples(*groups) -> tuple[str, ...]:
    """Up to 5 distinct trace ids, taking from each group in turn (round robin)."""
    out: list[str] = []
    lists = [list(g) for g in groups]
    i = 0
    while len(out) < MAX_EXAMPLES and any(i < len(g) for g in lists):
        for g in lists:
            if i < len(g) and g[i] and g[i] not in out and len(out) < MAX_EXAMPLES:
                out.append(g[i])
        i += 1
    return tuple(out)


def _join(names, limit: int = 4) -> str:
    names = list(dict.fromkeys(names))
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _ms(ns: float) -> str:
    return f"{ns / 1e6:,.0f} ms" if ns >= 1e6 else f"{ns / 1e3:,.0f} µs"


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1000
    return f"{n:,.1f} TB"


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class _Kinds:
    """``doctor_kinds.sql``: how many spans each relation query would start from."""

    named: int = 0
    unnamed: int = 0
    producers: int = 0
    consumers: int = 0
    calls: int = 0


def _kinds(ctx: _Ctx) -> _Kinds:
    rows = ctx.rows("doctor_kinds.sql", "span kinds")
    return _Kinds(*(int(v) for v in rows[0])) if rows else _Kinds()


def _context(ctx: _Ctx, kinds: _Kinds) -> tuple[list[Finding], Finding | None]:
    """context_not_propagated (fragments + broken edges) and huge_traces."""
    t = ctx.t
    shape = run(ctx.client, _render("doctor_traces.sql", ctx.tables, roots=ctx.tables.roots),
                {**ctx.params, "huge": t.huge_trace_spans}, "doctor: trace shapes")
    fragments = [r for r in shape if r[0] in ("orphan", "multi_root")]
    huge = [r for r in shape if r[0] == "huge"]

    servers = ctx.rows("doctor_servers.sql", "server services") if kinds.named else []
    named = []
    if servers:
        callees = [s[0].lower() for s in servers]
        named = ctx.rows("doctor_edges_named.sql", "named calls", callees=callees,
                         firsts=[int(s[1]) for s in servers], lasts=[int(s[2]) for s in servers])
        by_lower = {s[0].lower(): s[0] for s in servers}
        named = [(caller, by_lower.get(callee, callee), calls, broken, examples)
                 for caller, callee, calls, broken, examples in named
                 if broken / max(calls, 1) >= t.broken_edge_min_share]
    timing = [r for r in (ctx.rows("doctor_edges_timing.sql", "unnamed calls",
                                   max_gap=t.timing_max_gap_ns,
                                   tolerance=t.clock_skew_tolerance_ns)
                          if kinds.unnamed else [])
              if r[4] >= t.timing_min_matches and r[4] / max(r[2], 1) >= t.timing_min_share]

    findings: list[Finding] = []
    edges: dict[tuple[str, str], dict] = {}
    for caller, callee, calls, broken, examples in named:
        edges[(caller, callee)] = {"caller": caller, "callee": callee, "evidence": "attributes",
                                   "broken_calls": int(broken), "calls": int(calls),
                                   "examples": list(examples), "callee_examples": []}
    for caller, operation, candidates, callee, matched, examples, callee_examples in timing:
        edge = edges.setdefault((caller, callee), {
            "caller": caller, "callee": callee, "evidence": "timing", "broken_calls": 0,
            "calls": 0, "examples": [], "callee_examples": [], "operations": []})
        edge["broken_calls"] += int(matched)
        edge["calls"] += int(candidates)
        edge["examples"] = (edge["examples"] + list(examples))[:MAX_EXAMPLES]
        edge["callee_examples"] = (edge["callee_examples"] + list(callee_examples))[:MAX_EXAMPLES]
        edge.setdefault("operations", []).append(operation)
    edge_list = sorted(edges.values(), key=lambda e: (-e["broken_calls"], e["caller"], e["callee"]))
    frag_list = [{"problem": problem, "service": service, "traces": int(traces),
                  "examples": list(examples)}
                 for problem, service, traces, _max, examples in fragments]
    if edge_list or frag_list:
        services = [f"{e['caller']} → {e['callee']}" for e in edge_list]
        services += [f["service"] for f in frag_list]
        count = sum(e["broken_calls"] for e in edge_list) + sum(f["traces"] for f in frag_list)
        parts = []
        if edge_list:
            pairs = _join(f"{e['caller']} → {e['callee']}" for e in edge_list)
            callers = _join(e["caller"] for e in edge_list)
            callees = _join(e["callee"] for e in edge_list)
            parts.append(
                f"The calls {pairs} lose the trace context: propagate W3C traceparent on them "
                f"(instrument the HTTP/gRPC client library of {callers}, or propagate.inject() "
                "into the outgoing headers; OTEL_PROPAGATORS=tracecontext,baggage) and extract "
                f"it with the server instrumentation of {callees}.")
        orphans = [f["service"] for f in frag_list if f["problem"] == "orphan"]
        multi = [f["service"] for f in frag_list if f["problem"] == "multi_root"]
        if orphans:
            parts.append(
                f"Spans of {_join(orphans)} point at parent spans that never arrive: instrument "
                "and export every service on the path, with a ParentBased sampler so all of "
                "them keep the same traces.")
        if multi:
            parts.append(
                f"{_join(multi)} start extra root spans inside existing traces: create spans "
                "from the extracted context (not a fresh one) so they attach to their caller.")
        findings.append(Finding(
            code="context_not_propagated",
            title="Trace context is not propagated: traces are broken into pieces",
            severity="high", count=count, services=tuple(dict.fromkeys(services)),
            examples=_examples(*[e["examples"] for e in edge_list],
                               *[e["callee_examples"] for e in edge_list],
                               *[f["examples"] for f in frag_list]),
            fix=" ".join(parts),
            details=(("broken_calls", edge_list), ("fragments", frag_list))))

    huge_finding = None
    if huge:
        traces = sum(int(r[2]) for r in huge)
        huge_finding = Finding(
            code="huge_traces",
            title=f"Traces with more than {t.huge_trace_spans:,} spans",
            severity="medium", count=traces, services=tuple(r[1] for r in huge),
            examples=_examples(*[r[4] for r in huge]),
            fix=(f"Traces of {_join(r[1] for r in huge)} hold up to {max(int(r[3]) for r in huge):,} "
                 "spans (a loop or a batch job under one trace): give each item its own trace "
                 "linked to the batch span (span links), or stop creating a span per iteration."),
            details=(("by_service", [{"service": r[1], "traces": int(r[2]),
                                      "max_spans": int(r[3]), "examples": list(r[4])}
                                     for r in huge]),))
    return findings, huge_finding


def _async(ctx: _Ctx) -> Finding | None:
    share = ctx.t.async_min_share
    rows = [r for r in ctx.rows("doctor_async.sql", "queue hops")
            if r[4] > 0 and r[4] / max(r[3], 1) >= share]
    if not rows:
        return None
    producers = [r for r in rows if r[0] == "producer"]
    consumers = [r for r in rows if r[0] == "consumer_root"]
    services: list[str] = []
    paired_consumers: set[tuple[str, str]] = set()
    for _, producer, dest, _, _, _ in producers:
        matches = [c for c in consumers if dest and c[2] == dest]
        if matches:
            for c in matches:
                services.append(f"{producer} → {c[1]}")
                paired_consumers.add((c[1], c[2]))
        else:
            services.append(producer)
    services += [c[1] for c in consumers if (c[1], c[2]) not in paired_consumers]
    detail = [{"kind": what, "service": service, "destination": dest, "spans": int(spans),
               "unlinked_spans": int(unlinked), "examples": list(examples)}
              for what, service, dest, spans, unlinked, examples in rows]
    fix = ("Inject the trace context into the message headers where "
           f"{_join(r[1] for r in producers) or 'the producer'} publishes and extract it in "
           f"{_join(r[1] for r in consumers) or 'the consumer'} (the messaging instrumentation "
           "of your client library, or propagate.inject()/extract() by hand); start the "
           "consumer span as a child of the producer span, or link to it when consuming a batch.")
    return Finding(
        code="async_hop_unlinked",
        title="Queue hops lose the trace: producer and consumer spans are not connected",
        severity="high", count=sum(int(r[4]) for r in rows),
        services=tuple(dict.fromkeys(services)),
        examples=_examples(*[r[5] for r in rows]), fix=fix,
        details=(("spans", detail),))


def _business_ctx(ctx: _Ctx) -> _Ctx:
    """The span stats hold the entry spans' keys ending in ".id" only: usable when every
    configured business key is one of those (the defaults are)."""
    return ctx if all(k.endswith(".id") for k in ctx.options.business_keys) else _no_stats(ctx)


def _learned_keys(ctx: _Ctx) -> tuple[str, ...]:
    keys = list(ctx.options.business_keys)
    if not ctx.options.learn_business_keys:
        return tuple(keys)
    rows = _counted(_business_ctx(ctx), "doctor_keys_learn.sql", "doctor_keys_learn_stats.sql",
                    "business keys", keys=keys, learn_limit=ctx.options.learn_limit)
    for key, _services, _spans in rows:
        if key not in keys and not key.startswith(TECHNICAL_PREFIXES) and key != "id":
            keys.append(key)
    return tuple(keys)


def _business(ctx: _Ctx, keys: tuple[str, ...]) -> Finding | None:
    t = ctx.t
    if not keys:
        return None
    ctx = _business_ctx(ctx)
    totals: dict[str, list] = {}
    for service, entry, missing, *examples in _counted(
            ctx, "doctor_business_context.sql", "doctor_business_stats.sql",
            "business context", keys=list(keys)):
        total = totals.setdefault(service, [0, 0, []])
        total[0] += int(entry)
        total[1] += int(missing)
        total[2] += list(examples[0]) if examples else []
    rows = [(service, entry, missing, examples)
            for service, (entry, missing, examples) in sorted(totals.items())
            if entry >= t.business_min_entry_spans
            and missing / entry > t.business_max_missing_share]
    if rows and _stats(ctx):   # the stats have no trace ids: the examples, for these only
        found = dict(ctx.rows("doctor_examples_business.sql", "business context examples",
                              keys=list(keys), services=[r[0] for r in rows]))
        rows = [(service, entry, missing,
                 list(dict.fromkeys(examples + list(found.get(service, ()))))[:MAX_EXAMPLES])
                for service, entry, missing, examples in rows]
    if not rows:
        return None
    names = _join(r[0] for r in rows)
    shown = ", ".join(keys[:3])
    return Finding(
        code="no_business_context",
        title="Entry spans without business context (nothing to search them by)",
        severity="medium", count=sum(int(r[2]) for r in rows),
        services=tuple(r[0] for r in rows), examples=_examples(*[r[3] for r in rows]),
        fix=(f"Set {shown} (whichever applies) on the entry spans of {names}: "
             "span.set_attribute() in the request middleware or message handler, or copy them "
             "from W3C baggage with a baggage span processor, so 'spanhouse find user.id=...' "
             "finds their traces."),
        details=(("keys", list(keys)),
                 ("by_service", [{"service": r[0], "entry_spans": int(r[1]),
                                  "missing": int(r[2]), "share": r[2] / r[1],
                                  "examples": list(r[3])} for r in rows])))


def _table_names(tables: Tables) -> tuple[str, str] | None:
    # ``traces`` is `database`.`table` of validated identifiers (no backquotes inside)
    match = re.fullmatch(r"`([^`]+)`\.`([^`]+)`", tables.traces)
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class _ServiceCounts:
    """A row of ``doctor_window.sql``: one service's spans in the window."""

    service: str
    spans: int
    zero: int                                 # lasting 0 ns
    too_long: int                             # lasting over max_span_duration_ns
    names: int                                # distinct span names
    id_names: int                             # ... holding an id-like segment
    id_examples: tuple[str, ...]              # up to 5 of those


@dataclass(frozen=True)
class _PolicyCounts:
    """A row of ``doctor_policies.sql``: the spans one sampling policy kept in the window."""

    policy: str
    spans: int
    estimated: float
    error_spans: int
    sampled_errors: int                       # error spans kept with a weight above 1


def _stats(ctx: _Ctx) -> bool:
    """Whether the counting checks read span stats (``{table}_span_stats``: counts per
    minute) for the whole minutes of the window, and spans only for the rest of it."""
    return ctx.params["m1"] > ctx.params["m0"]


def _no_stats(ctx: _Ctx) -> _Ctx:
    """``ctx`` with every span of the window read (no whole minute taken from the stats)."""
    return replace(ctx, params={**ctx.params, "m0": 0, "m1": 0})


def _spans(ctx: _Ctx) -> dict[str, str]:
    """The fragments of the counting checks' span queries (``${spans}`` and its columns): the
    span graph for the partial minutes of a window whose whole minutes come from the stats
    (a time range of small columns), else the traces table over the whole window."""
    if _stats(ctx):
        return {"spans": ctx.tables.span_graph, "window": RAW_WINDOW,
                "policy": "toString(SamplingPolicy)", "weight": "Weight",
                "is_error": "IsError = 1", "is_entry": "IsEntry = 1", "entry_keys": "EntryKeys"}
    return {"spans": ctx.tables.traces, "window": RAW_WINDOW,
            "entry_keys": "arrayConcat(SpanAttributes.keys, ResourceAttributes.keys)"}


def _counted(ctx: _Ctx, raw: str, stats: str, what: str, **extra) -> list[tuple]:
    """The rows of ``raw`` over the spans of the window outside the stats' whole minutes, and
    of ``stats`` over those minutes (when there are)."""
    rows = run(ctx.client, _render(raw, ctx.tables, **_spans(ctx)), {**ctx.params, **extra},
               f"doctor: {what}")
    if _stats(ctx):
        rows += ctx.rows(stats, what, **extra)
    return rows


def _window(ctx: _Ctx) -> list[_ServiceCounts]:
    if ctx.t.max_span_duration_ns != DAY:   # the stats count spans over a day (OverDay)
        ctx = _no_stats(ctx)
    counts = _render("doctor_window_spans.sql", ctx.tables, **_spans(ctx))
    if _stats(ctx):
        counts += "\nUNION ALL\n" + _render("doctor_window_stats.sql", ctx.tables)
    sql = _render("doctor_window.sql", ctx.tables, counts=counts)
    return [_ServiceCounts(service, int(spans), int(zero), int(too_long), int(names),
                           int(id_names), tuple(id_examples))
            for service, spans, zero, too_long, names, id_names, id_examples in run(
                ctx.client, sql, {**ctx.params, "max_duration": ctx.t.max_span_duration_ns},
                "doctor: span counts")]


def _policies(ctx: _Ctx) -> list[_PolicyCounts]:
    totals: dict[str, list] = {}
    for policy, spans, est, errs, sampled in _counted(ctx, "doctor_policies.sql",
                                                      "doctor_policies_stats.sql", "sampling"):
        total = totals.setdefault(policy, [0, 0.0, 0, 0])
        for i, value in enumerate((int(spans), float(est), int(errs), int(sampled))):
            total[i] += value
    return sorted((_PolicyCounts(policy, *total) for policy, total in totals.items()),
                  key=lambda p: (-p.spans, p.policy))


def _sampled_errors(ctx: _Ctx) -> tuple[int, tuple[str, ...], list[str]]:
    """(traces, example trace ids, services) of the error spans kept with a weight above 1."""
    entry_error = ctx.tables.entry_error
    fragments = ({"source": entry_error, "sampled_error": "IsError = 1 AND Weight > 1"}
                 if entry_error is not None else
                 {"source": ctx.tables.traces,
                  "sampled_error": f"{IS_ERROR} AND toFloat64({ctx.tables.weight}) > 1"})
    rows = run(ctx.client, _render("doctor_sampled_errors.sql", ctx.tables, **fragments),
               ctx.params, "doctor: sampled errors")
    if not rows:
        return 0, (), []
    traces, examples, services = rows[0]
    return int(traces), tuple(examples), sorted(services)


def _sampling(ctx: _Ctx, rows: list[_PolicyCounts]) -> tuple[SamplingSummary, list[Finding]]:
    t = ctx.t
    spans = sum(r.spans for r in rows)
    estimated = sum(r.estimated for r in rows)
    rate = spans / estimated if estimated > 0 else 1.0
    seconds = max((ctx.params["end"] - ctx.params["start"]) / SECOND, 1.0)
    bytes_per_span = None
    names = _table_names(ctx.tables)
    if names is not None and spans:
        try:
            size = ctx.rows("doctor_table_size.sql", "table size", database=names[0],
                            table=names[1])
        except Exception:   # system.parts unreadable (permissions): no byte estimate
            size = []
        if size and size[0][1]:
            bytes_per_span = float(size[0][0]) / float(size[0][1])
    sps = spans / seconds
    bytes_per_day = sps * 86_400 * bytes_per_span if bytes_per_span is not None else None
    policies = tuple(PolicySampling(policy=r.policy, spans=r.spans, estimated_spans=r.estimated,
                                    rate=r.spans / r.estimated if r.estimated else 1.0)
                     for r in rows)
    error_policies = sorted({r.policy or "(none)" for r in rows if r.sampled_errors})
    sampled_error_traces, error_examples, error_services = (
        _sampled_errors(ctx) if error_policies else (0, (), []))
    summary = SamplingSummary(
        spans=spans, estimated_spans=estimated, rate=rate, spans_per_second=sps,
        estimated_spans_per_second=estimated / seconds, bytes_per_span=bytes_per_span,
        bytes_per_day=bytes_per_day, error_spans=sum(r.error_spans for r in rows),
        sampled_error_traces=sampled_error_traces, policies=policies)

    findings = []
    volume = f"{sps:,.1f} spans/s" + (f" (about {_bytes(bytes_per_day)}/day)"
                                       if bytes_per_day is not None else "")
    details = (("sampling", summary.to_json()),)
    if rate >= t.over_sampling_rate and sps >= t.over_sampling_min_spans_per_second:
        findings.append(Finding(
            code="over_sampling",
            title=f"Over-sampling: {rate:.0%} of the traffic is stored",
            severity="medium", count=spans, services=(), examples=(),
            fix=(f"You store {volume} at an effective rate of {rate:.0%}: start at 1-5% "
                 "(probabilistic_sampler, or a tail_sampling probabilistic policy) and keep "
                 "the interesting traces with status_code (errors) and latency policies; "
                 "raise the rate as needed."),
            details=details))
    elif (rate < t.under_sampling_rate
          and estimated / seconds >= t.under_sampling_min_estimated_per_second):
        findings.append(Finding(
            code="under_sampling",
            title=f"Under-sampling: only {rate:.3%} of the traffic is stored",
            severity="low", count=spans, services=(), examples=(),
            fix=("So few traces are kept that rare paths never show up: sample at 1-5%, and "
                 "keep errors and slow traces with tail_sampling status_code and latency "
                 "policies."),
            details=details))
    if sampled_error_traces:
        findings.append(Finding(
            code="errors_sampled_away",
            title="Error traces are sampled: some errors were dropped",
            severity="high", count=sampled_error_traces, services=tuple(error_services),
            examples=_examples(error_examples),
            fix=(f"Error spans were kept with a weight above 1 by {', '.join(error_policies)}: "
                 "put a tail_sampling status_code policy (status_codes: [ERROR]) before the "
                 "probabilistic one so every error trace is kept."),
            details=(("policies", error_policies),)))
    return summary, findings


def _clock_skew(ctx: _Ctx) -> Finding | None:
    t = ctx.t
    rows = [r for r in ctx.rows("doctor_clock_skew.sql", "clock skew",
                                tolerance=t.clock_skew_tolerance_ns,
                                max_duration=t.max_span_duration_ns)
            if r[3] / max(r[2], 1) >= t.clock_skew_min_share]
    if not rows:
        return None
    worst = max(int(r[4]) for r in rows)
    hosts = _join(dict.fromkeys(s for r in rows for s in (r[0], r[1])))
    return Finding(
        code="clock_skew",
        title="Clock skew: server spans start before or end after their client spans",
        severity="medium", count=sum(int(r[3]) for r in rows),
        services=tuple(f"{r[0]} → {r[1]}" for r in rows),
        examples=_examples(*[r[5] for r in rows]),
        fix=(f"The clocks of {hosts} disagree by up to {_ms(worst)}: run NTP/chrony on their "
             "hosts; spans are shown as recorded, so waterfalls and durations across these "
             "calls are off until then."),
        details=(("tolerance_ms", t.clock_skew_tolerance_ns / 1e6),
                 ("pairs", [{"caller": r[0], "callee": r[1], "calls": int(r[2]),
                             "skewed": int(r[3]), "max_offset_ms": int(r[4]) / 1e6,
                             "examples": list(r[5])} for r in rows])))


def _durations(ctx: _Ctx, services: list[_ServiceCounts]) -> Finding | None:
    t = ctx.t
    rows = [r for r in services
            if r.too_long > 0 or r.zero / max(r.spans, 1) >= t.zero_duration_min_share]
    if not rows:
        return None
    examples = dict(ctx.rows("doctor_examples_durations.sql", "bad duration examples",
                             services=[r.service for r in rows],
                             max_duration=t.max_span_duration_ns))
    by_service = [{"service": r.service, "spans": r.spans, "zero": r.zero, "too_long": r.too_long,
                   "examples": list(examples.get(r.service, ()))} for r in rows]
    return Finding(
        code="bad_duration",
        title="Spans with impossible durations (0 ns, or longer than a day)",
        severity="low", count=sum(r.zero + r.too_long for r in rows),
        services=tuple(r.service for r in rows),
        examples=_examples(*[b["examples"] for b in by_service]),
        fix=(f"Spans of {_join(r.service for r in rows)} end before they start, never really run, "
             "or last for days: end each span exactly once after the work, take start and end "
             "times from the SDK's clock (or the same unit: nanoseconds), and don't reuse "
             "span objects."),
        details=(("by_service", by_service),))


def _span_names(ctx: _Ctx, services: list[_ServiceCounts]) -> Finding | None:
    t = ctx.t
    rows = [r for r in services
            if r.names > t.span_names_max_distinct or r.id_names >= t.span_names_min_id_like]
    if not rows:
        return None
    traces = {(service, name): trace for service, name, trace in ctx.rows(
        "doctor_examples_names.sql", "span name examples", services=[r.service for r in rows],
        names=sorted({n for r in rows for n in r.id_examples}))}
    by_service = [{"service": r.service, "distinct_names": r.names, "id_like_names": r.id_names,
                   "example_names": list(r.id_examples),
                   "examples": [traces[(r.service, n)] for n in r.id_examples
                                if (r.service, n) in traces]} for r in rows]
    return Finding(
        code="high_cardinality_span_names",
        title="Span names with ids in them (too many distinct names)",
        severity="medium", count=sum(r.names for r in rows),
        services=tuple(r.service for r in rows),
        examples=_examples(*[b["examples"] for b in by_service]),
        fix=(f"Name the spans of {_join(r.service for r in rows)} by their route template "
             "(e.g. 'GET /users/{id}' from http.route) rather than the raw path, and put the "
             "id in an attribute: names are for grouping, and every distinct one is a new "
             "operation."),
        details=(("by_service", by_service),))


# ----------------------------------------------------------------------------- sampling
def _relations(ctx: _Ctx, window_spans: int) -> tuple[_Ctx, dict | None]:
    """The context the relation checks run in: ``ctx`` itself, or, when the window holds more
    than ``options.max_checked_spans`` spans, a slice of it holding about that many (the
    latest settled part of the window: it ends at ``settled``), whose missing relatives are
    looked up within ``min(window_margin_ns, slice length)`` of it. Those checks join every
    span of their lookup window with every other (the cost grows with the window); on a
    slice, their counts are the slice's and their findings say so (``details["sample"]``)."""
    limit = ctx.options.max_checked_spans
    if not limit or window_spans <= limit:
        return ctx, None
    start, end, settled = ctx.params["start"], ctx.params["end"], ctx.params["settled"]
    length = max((end - start) * limit // window_spans, 1)
    s_end = min(end, max(settled, start + length))
    s_start = max(s_end - length, start)
    margin = min(ctx.options.window_margin_ns, length)
    params = {"start": s_start, "end": s_end, "m0": 0, "m1": 0, "lo": max(s_start - margin, 0),
              "hi": min(s_end + margin, 2 ** 63 - 1), "settled": min(settled, s_end)}
    sample = {"start": rfc3339(s_start), "end": rfc3339(s_end),
              "window_spans": window_spans, "max_checked_spans": limit,
              "lookup_margin_ms": margin / 1e6,
              "note": "counts are those of this slice of the window"}
    return _Ctx(ctx.client, ctx.tables, params, ctx.options), sample


def _sampled(finding: Finding | None, sample: dict | None) -> Finding | None:
    if finding is None or sample is None:
        return finding
    return replace(finding, details=finding.details + (("sample", sample),))


# ----------------------------------------------------------------------------- entry point
def run_doctor(store: AnalysisStore, start_ns: int, end_ns: int,
               options: DoctorOptions | None = None) -> DoctorReport:
    """Every check over the spans of ``[start_ns, end_ns]`` (Unix ns). Raises ``InvalidInput``
    for a bad window or option, ``StoreError`` when the store fails."""
    started = time.perf_counter()
    start_ns, end_ns = check_window(start_ns, end_ns)
    options = _check_options(options or DoctorOptions())
    now = options.now_ns if options.now_ns is not None else time.time_ns()
    first, last = -(-start_ns // MINUTE) * MINUTE, (end_ns + 1) // MINUTE * MINUTE
    params = {"start": start_ns, "end": end_ns,
              "m0": 0, "m1": 0,
              "lo": max(start_ns - options.window_margin_ns, 0),
              "hi": min(end_ns + options.window_margin_ns, 2 ** 63 - 1),
              "settled": min(end_ns, max(now - options.settle_ns, 0))}
    findings: list[Finding] = []
    with store.client() as (client, tables):
        if tables.span_stats and tables.span_graph and last > first:   # whole minutes
            params.update(m0=first, m1=last)
        ctx = _Ctx(client, tables, params, options)
        services = _window(ctx)
        sampling, sampling_findings = _sampling(ctx, _policies(ctx))
        rel, sample = _relations(ctx, sampling.spans)
        kinds = _kinds(rel)
        context, huge = _context(rel, kinds)
        findings += [_sampled(f, sample) for f in context]
        async_finding = _sampled(_async(rel) if kinds.producers or kinds.consumers else None,
                                 sample)
        keys = _learned_keys(ctx)
        business = _business(ctx, keys)
        others = [async_finding, business, *sampling_findings,
                  _sampled(_clock_skew(rel) if kinds.calls else None, sample),
                  _durations(ctx, services),
                  _sampled(huge, sample), _span_names(ctx, services)]
    findings += [f for f in others if f is not None]
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))   # stable: check order in a level
    return DoctorReport(start_ns=start_ns, end_ns=end_ns, findings=tuple(findings),
                        sampling=sampling, business_keys=keys,
                        elapsed_ms=(time.perf_counter() - started) * 1000)
