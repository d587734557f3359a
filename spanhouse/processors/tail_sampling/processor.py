"""The collector's ``tail_sampling`` processor: buffer each trace, decide once, keep or drop.

Semantics follow ``processor/tailsamplingprocessor`` (processor.go):

- a trace is decided ``decision_wait`` after its first span arrived (or
  ``decision_wait_after_root_received`` after its root span, when that is sooner);
- policies combine as upstream's ``makeDecision`` (``decision.evaluate_policies``): drop first,
  then inverted-not-sampled, sampled, inverted-sampled;
- a decided trace stays in the map as a decision only (its spans are released), so late spans
  follow it; with ``decision_cache`` the decision moves to an LRU cache of that size instead
  (``cachetools.LRUCache``; size 0: no cache, as upstream's nop cache);
- at most ``num_traces`` traces are held: a new trace evicts the oldest (counted as evicted
  before its decision when it was still pending), or, with ``block_on_overflow``, the sender is
  refused with a retryable error instead of blocking the event loop;
- a trace above ``maximum_trace_size_bytes`` is dropped at once (counted);
- on shutdown pending traces are decided with what arrived, or dropped with
  ``drop_pending_traces_on_shutdown``.

Beyond the collector, a kept trace records *why*: ``sampling_policy`` is the name of the
policy that kept it and ``adjusted_count`` is multiplied by 1 / the probability with which
that policy keeps such a trace, so queries can estimate the real number of traces.

Memory: the buffer keeps no Python object per span. A trace is a ``TraceView``: references to
the received ``SpanBatch``es and its row numbers in them.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from cachetools import LRUCache

from spanhouse.component import BuildContext, Consumer, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, Overloaded
from spanhouse.model.batch import SpanBatch
from spanhouse.processors.delivery import deliver
from spanhouse.processors.tail_sampling.decision import evaluate_policies
from spanhouse.processors.tail_sampling.registry import build_policies
from spanhouse.processors.tail_sampling.trace import TraceView, span_sizes
from spanhouse.telemetry import Telemetry

log = logging.getLogger(__name__)

FIELDS = ("decision_wait", "num_traces", "expected_new_traces_per_sec", "decision_cache",
          "sample_on_first_match", "drop_pending_traces_on_shutdown",
          "decision_wait_after_root_received", "maximum_trace_size_bytes", "block_on_overflow",
          "policies", "sampling_strategy", "num_shards")


@dataclass(frozen=True)
class TailSamplingConfig:
    decision_wait_s: float = 30.0
    num_traces: int = 50_000
    expected_new_traces_per_sec: int = 0
    sampled_cache_size: int = 0
    non_sampled_cache_size: int = 0
    sample_on_first_match: bool = False
    drop_pending_traces_on_shutdown: bool = False
    decision_wait_after_root_s: float = 0.0
    maximum_trace_size_bytes: int = 0
    block_on_overflow: bool = False


def parse_config(section: Section) -> tuple[TailSamplingConfig, list[Section]]:
    s = section.allow(*FIELDS)
    cache = s.section("decision_cache").allow("sampled_cache_size", "non_sampled_cache_size")
    s.string("sampling_strategy", "trace-complete", choices=["trace-complete"])
    s.integer("num_shards", 1, minimum=1, maximum=256)
    config = TailSamplingConfig(
        decision_wait_s=s.duration("decision_wait", 30.0, minimum=0.001),
        num_traces=s.integer("num_traces", 50_000, minimum=1),
        expected_new_traces_per_sec=s.integer("expected_new_traces_per_sec", 0, minimum=0),
        sampled_cache_size=cache.integer("sampled_cache_size", 0, minimum=0),
        non_sampled_cache_size=cache.integer("non_sampled_cache_size", 0, minimum=0),
        sample_on_first_match=s.boolean("sample_on_first_match", False),
        drop_pending_traces_on_shutdown=s.boolean("drop_pending_traces_on_shutdown", False),
        decision_wait_after_root_s=s.duration("decision_wait_after_root_received", 0.0, minimum=0),
        maximum_trace_size_bytes=s.integer("maximum_trace_size_bytes", 0, minimum=0),
        block_on_overflow=s.boolean("block_on_overflow", False),
    )
    policies = s.sections("policies")
    if not policies:
        raise ConfigError("at least one policy is required, e.g. "
                          "policies: [{name: errors, type: status_code, status_code: "
                          "{status_codes: [ERROR]}}]", s.key_of("policies"))
    return config, policies


# A decision cache: trace id -> (policy, probability), or None for size 0 (no cache).
DecisionCache = LRUCache | None


def _decision_cache(size: int) -> DecisionCache:
    return LRUCache(maxsize=size) if size > 0 else None


def _recall(cache: DecisionCache, trace_id: str) -> tuple[str, float] | None:
    return cache.get(trace_id) if cache is not None else None


def _remember(cache: DecisionCache, trace_id: str, decision: tuple[str, float]) -> bool:
    """Put ``decision`` in ``cache``; False when there is no cache (the trace map keeps it)."""
    if cache is None:
        return False
    cache[trace_id] = decision
    return True


class _Entry:
    __slots__ = ("view", "decision", "due", "seq_low")

    def __init__(self, view: TraceView, due: float, seq_low: int = 0):
        self.view: TraceView | None = view
        self.decision: tuple[bool, str, float] | None = None   # sampled, policy, probability
        self.due = due
        self.seq_low = seq_low  # write-ahead log seq of the trace's first spans


class TailSamplingProcessor:
    def __init__(self, name: str, config: TailSamplingConfig, policies: list, telemetry: Telemetry,
                 clock=time.monotonic, tick_s: float | None = None):
        self.name = name
        self.config = config
        self.policies = policies
        self.clock = clock
        self.tick_s = tick_s or min(1.0, max(0.02, config.decision_wait_s / 10))
        self._traces: OrderedDict[str, _Entry] = OrderedDict()   # arrival order
        self._pending: OrderedDict[str, _Entry] = OrderedDict()  # undecided, arrival order
        self._root_due: list[tuple[float, str]] = []             # heap of early deadlines
        self._sampled_cache = _decision_cache(config.sampled_cache_size)
        self._not_sampled_cache = _decision_cache(config.non_sampled_cache_size)
        self._outbox: list[SpanBatch] = []                        # late spans of kept traces
        self._buffered_spans = 0
        self._sending_low = 0   # write-ahead log seq_low of what is being decided and sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next: Consumer | None = None
        self._need_sizes = bool(config.maximum_trace_size_bytes) or any(
            getattr(p, "needs_size", False) for p in policies)
        self._init_metrics(telemetry)

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry: Telemetry) -> "TailSamplingProcessor":
        config, policy_sections = parse_config(section)
        policies = build_policies(policy_sections, time.monotonic)
        return cls(name, config, policies, telemetry)

    def _init_metrics(self, t: Telemetry) -> None:
        self._dropped = t.spans_dropped
        self._decisions = t.counter(
            "spanhouse_tail_sampling_traces_decided",
            "Traces decided, by the policy that kept them ('' when not kept) and the decision.",
            ["processor", "policy", "decision"])
        self._policy_decisions = t.counter(
            "spanhouse_tail_sampling_policy_decisions",
            "Each policy's own decision per evaluated trace (as the collector's "
            "count_traces_sampled).", ["processor", "policy", "decision"])
        self._late = t.counter(
            "spanhouse_tail_sampling_late_spans",
            "Spans that arrived after their trace was decided, by the decision they followed.",
            ["processor", "decision"])
        self._evicted = t.counter(
            "spanhouse_tail_sampling_traces_evicted",
            "Traces removed from the buffer before their decision (num_traces exceeded, trace "
            "too large, dropped on shutdown).", ["processor", "reason"])
        self._buffer_traces = t.gauge("spanhouse_tail_sampling_buffer_traces",
                                      "Traces held (pending and decided).", ["processor", "state"])
        self._buffer_spans = t.gauge("spanhouse_tail_sampling_buffer_spans",
                                     "Spans buffered awaiting a decision.", ["processor"])
        self._buffer_capacity = t.gauge("spanhouse_tail_sampling_buffer_capacity_traces",
                                        "num_traces.", ["processor"])
        self._buffer_capacity.labels(self.name).set(self.config.num_traces)

    # ------------------------------------------------------------------ lifecycle
    def start(self, next_consumer: Consumer) -> None:
        self._next = next_consumer
        self._thread = threading.Thread(target=self._run, name=f"spanhouse-{self.name}", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            pending = list(self._pending.items())
            self._pending.clear()
        if self.config.drop_pending_traces_on_shutdown:
            with self._lock:
                for trace_id, entry in pending:
                    self._drop_pending(trace_id, entry, "shutdown")
            out: list[SpanBatch] = []
        else:
            out = self._decide([(tid, e) for tid, e in pending])
        self._send(out, deadline)
        return True

    # ------------------------------------------------------------------ ingest
    def consume(self, batch: SpanBatch) -> None:
        batch.compact()  # it may stay buffered for decision_wait: share strings, pack ints
        groups: dict[str, list[int]] = {}
        for row, trace_id in enumerate(batch.trace_id):
            rows = groups.get(trace_id)
            if rows is None:
                groups[trace_id] = [row]
            else:
                rows.append(row)
        sizes = span_sizes(batch) if self._need_sizes else None
        parents = batch.parent_span_id
        now = self.clock()
        late_rows: list[int] = []
        late_values: list[tuple[str, float]] = []
        with self._lock:
            if self.config.block_on_overflow:
                new = sum(1 for t in groups if t not in self._traces)
                if new and len(self._pending) + new > self.config.num_traces:
                    raise Overloaded(f"{self.name}: {len(self._pending)} traces awaiting a "
                                     "decision (num_traces)", self.tick_s)
            for trace_id, rows in groups.items():
                entry = self._traces.get(trace_id)
                decision = entry.decision if entry is not None else None
                if entry is None:
                    cached = _recall(self._sampled_cache, trace_id)
                    if cached is not None:
                        decision = (True, *cached)
                    elif _recall(self._not_sampled_cache, trace_id) is not None:
                        decision = (False, "", 1.0)
                if decision is not None:
                    self._late.labels(self.name, "sampled" if decision[0] else "not_sampled").inc(len(rows))
                    if decision[0]:
                        late_rows.extend(rows)
                        late_values.extend([(decision[1], decision[2])] * len(rows))
                    else:
                        self._dropped.labels(self.name, "not_sampled").inc(len(rows))
                    continue
                if entry is None:
                    entry = self._admit(trace_id, now, batch.seq_low)
                view = entry.view
                size = sum(sizes[r] for r in rows) if sizes is not None else 0
                view.add(batch, rows, size)
                self._buffered_spans += len(rows)
                if view.root_arrival is None and any(not parents[r] for r in rows):
                    view.root_arrival = now
                    if self.config.decision_wait_after_root_s > 0:
                        due = now + self.config.decision_wait_after_root_s
                        if due < entry.due:
                            entry.due = due
                            heapq.heappush(self._root_due, (due, trace_id))
                limit = self.config.maximum_trace_size_bytes
                if limit and view.size_bytes > limit:
                    self._pending.pop(trace_id, None)
                    self._drop_pending(trace_id, entry, "too_large")
            self._update_gauges()
            if late_rows:
                late = batch.take(late_rows)
                counts = late.adjusted_counts()
                late.adjusted_count = [c / p for c, (_, p) in zip(counts, late_values)]
                late.sampling_policy = [policy for policy, _ in late_values]
                self._outbox.append(late)

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span still buffered or being sent, or None.
        Traces enter ``_pending`` in log order (one feeder), so the first pending trace holds
        the lowest seq of all pending ones."""
        with self._lock:
            lows = [b.seq_low for b in self._outbox if b.seq_low]
            for entry in self._pending.values():
                if entry.seq_low:
                    lows.append(entry.seq_low)
                break
            if self._sending_low:
                lows.append(self._sending_low)
            return min(lows) if lows else None

    def _admit(self, trace_id: str, now: float, seq_low: int = 0) -> _Entry:
        """A new trace: make room (evict the oldest) and register it as pending."""
        while len(self._traces) >= self.config.num_traces:
            old_id, old = self._traces.popitem(last=False)
            if old.decision is None:
                self._pending.pop(old_id, None)
                self._drop_pending(old_id, old, "num_traces", remove=False)
        entry = _Entry(TraceView(trace_id, first_arrival=now), now + self.config.decision_wait_s,
                       seq_low)
        self._traces[trace_id] = entry
        self._pending[trace_id] = entry
        return entry

    def _drop_pending(self, trace_id: str, entry: _Entry, reason: str, remove: bool = True) -> None:
        """Release an undecided trace without keeping it (counted); later spans are dropped."""
        spans = entry.view.span_count if entry.view else 0
        self._buffered_spans -= spans
        self._evicted.labels(self.name, reason).inc()
        self._dropped.labels(self.name, f"evicted_{reason}").inc(spans)
        entry.view = None
        entry.decision = (False, "", 1.0)
        if remove and _remember(self._not_sampled_cache, trace_id, ("", 1.0)):
            self._traces.pop(trace_id, None)

    # ------------------------------------------------------------------ decisions
    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # a bug here must not stop sampling for good
                log.exception("%s: decision tick failed", self.name)

    def tick(self) -> None:
        """Decide every trace that is due, and send what was kept."""
        now = self.clock()
        due: list[tuple[str, _Entry]] = []
        with self._lock:
            while self._pending:
                trace_id, entry = next(iter(self._pending.items()))
                if entry.view.first_arrival + self.config.decision_wait_s > now:
                    break  # arrival order: the rest are younger (early ones are in the heap)
                self._pending.popitem(last=False)
                due.append((trace_id, entry))
            while self._root_due and self._root_due[0][0] <= now:
                _, trace_id = heapq.heappop(self._root_due)
                entry = self._pending.pop(trace_id, None)
                if entry is not None:
                    due.append((trace_id, entry))
            outbox, self._outbox = self._outbox, []
            self._sending_low = min([e.seq_low for _, e in due if e.seq_low]
                                    + [b.seq_low for b in outbox if b.seq_low], default=0)
        kept = self._decide(due)
        self._send(outbox + kept, None)
        with self._lock:
            self._sending_low = 0

    def _decide(self, due: list[tuple[str, _Entry]]) -> list[SpanBatch]:
        kept: list[SpanBatch] = []
        for trace_id, entry in due:
            view = entry.view
            if view is None:
                continue
            outcome = evaluate_policies(self.policies, view, self.config.sample_on_first_match)
            for policy, decision in outcome.decisions.items():
                self._policy_decisions.labels(self.name, policy, decision.name).inc()
            with self._lock:
                view = entry.view  # spans that arrived during evaluation are included
                entry.view = None
                self._buffered_spans -= view.span_count
                probability = outcome.probability if outcome.probability > 0 else 1.0
                entry.decision = (outcome.sampled, outcome.policy, probability)
                cache = self._sampled_cache if outcome.sampled else self._not_sampled_cache
                if _remember(cache, trace_id, (outcome.policy, probability)):
                    self._traces.pop(trace_id, None)
            final = {"Sampled": "sampled", "Dropped": "dropped"}.get(outcome.final.name, "not_sampled")
            self._decisions.labels(self.name, outcome.policy, final).inc()
            if outcome.sampled:
                batch = view.take()
                batch.adjusted_count = [c / probability for c in batch.adjusted_counts()]
                batch.sampling_policy = [outcome.policy] * len(batch)
                kept.append(batch)
            else:
                self._dropped.labels(self.name, final).inc(view.span_count)
        with self._lock:
            self._update_gauges()
        return kept

    def _send(self, batches: list[SpanBatch], deadline: float | None) -> None:
        batches = [b for b in batches if len(b)]
        if not batches:
            return
        merged = batches[0] if len(batches) == 1 else SpanBatch.concat(batches)
        if not deliver(self._next, merged, deadline):
            self._dropped.labels(self.name, "downstream_overloaded").inc(len(merged))

    def _update_gauges(self) -> None:
        pending = len(self._pending)
        self._buffer_traces.labels(self.name, "pending").set(pending)
        self._buffer_traces.labels(self.name, "decided").set(len(self._traces) - pending)
        self._buffer_spans.labels(self.name).set(self._buffered_spans)


# ------------------------------------------------------------------ the component
def _create(component_id: str, section: Section, context: BuildContext) -> TailSamplingProcessor:
    return TailSamplingProcessor.from_config(component_id, section, context.telemetry)


def _describe(built: TailSamplingProcessor) -> str:
    c = built.config
    names = ", ".join(getattr(p, "name", "?") for p in built.policies)
    return f"decision_wait {c.decision_wait_s:g}s, num_traces {c.num_traces}, policies: {names}"


FACTORY = Factory("processor", "tail_sampling", _create, _describe)
