"""The collector's ``probabilistic_sampler`` processor (traces), decision for decision.

Ported from ``open-telemetry/opentelemetry-collector-contrib``
``processor/probabilisticsamplerprocessor`` (``config.go``, ``factory.go``, ``sampler_mode.go``,
``tracesprocessor.go``, ``fnvhasher.go``). Per span, as upstream's ``commonShouldSampleLogic``:

1. find the randomness and parse the W3C ``trace_state`` (``hash_seed``: FNV-1a of the seed's 4
   little-endian bytes + the 16 trace-id bytes; ``proportional``/``equalizing``: the ``ot``
   entry's ``rv``, else the trace id's last 7 bytes);
2. on an error (bad ``trace_state``, missing randomness, an arriving ``th`` the randomness
   contradicts, or ``rv``/``th`` already present in ``hash_seed`` mode) the threshold is
   "never" with ``fail_closed`` (the default) and "always" without; otherwise the mode decides;
3. ``sampling.priority`` overrides: 0 drops, > 0 keeps (``spanhouse.processors.sampling_priority``);
4. kept spans with a parsed ``trace_state`` get ``th`` (and ``rv`` in ``hash_seed`` mode) written
   back, re-serialized the way upstream does (``ot`` first, ``rv`` before ``th``).

Spanhouse additions: each kept span's ``adjusted_count`` is multiplied by the ratio of the
``th`` probability before and after this sampler (1/p for a fresh decision, 1 for spans kept by
priority or by failing open), and ``sampling_policy`` is set to the processor name when empty.

The work is done once per distinct (trace id, trace state, priority) in a batch. As a pipeline
component (``FACTORY``) the sampler is a ``FilterProcessor``: what it keeps goes straight on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.model.batch import SpanBatch
from spanhouse.processors import otep235 as ot
from spanhouse.processors.filtering import FilterProcessor
from spanhouse.processors.hashing import fnv1a_32
from spanhouse.processors.sampling_priority import (DEFER, DO_NOT_SAMPLE, MUST_SAMPLE,
                                                   span_priorities)
from spanhouse.telemetry import Telemetry

HASH_SEED, EQUALIZING, PROPORTIONAL = "hash_seed", "equalizing", "proportional"
MODES = (HASH_SEED, EQUALIZING, PROPORTIONAL)
DEFAULT_MODE = HASH_SEED          # sampler_mode.go: defaultMode = HashSeed
DEFAULT_PRECISION = 4             # factory.go: defaultPrecision
ATTRIBUTE_SOURCES = ("traceID", "record")
FIELDS = ("sampling_percentage", "hash_seed", "mode", "fail_closed", "sampling_precision",
          "attribute_source", "from_attribute", "sampling_priority")

_NUM_HASH_BUCKETS = 0x4000
_BUCKET_MASK = _NUM_HASH_BUCKETS - 1
_PERCENTAGE_SCALE = np.float32(_NUM_HASH_BUCKETS / 100.0)   # Go: untyped 163.84 -> float32
_ZERO_TRACE_ID = "0" * 32


@dataclass(frozen=True, slots=True)
class ProbabilisticSamplerConfig:
    """Upstream's ``Config`` (mapstructure names), defaults from its ``createDefaultConfig``.

    ``sampling_percentage`` is a float32 upstream; the sampler rounds it the same way.
    ``mode`` ``""`` means unset (upstream picks ``hash_seed``). ``sampling_precision`` 0 means
    full precision here (upstream's sampler does the same; its ``Validate`` refuses 0, and so
    does ``parse_config``). ``attribute_source``, ``from_attribute`` and ``sampling_priority``
    are logs-only upstream: accepted and validated, unused for traces.
    """

    sampling_percentage: float = 0.0
    hash_seed: int = 0
    mode: str = ""
    fail_closed: bool = True
    sampling_precision: int = DEFAULT_PRECISION
    attribute_source: str = "traceID"
    from_attribute: str = ""
    sampling_priority: str = ""

    def __post_init__(self) -> None:
        pct = float(_float32(self.sampling_percentage))
        if math.isnan(pct) or math.isinf(pct) or pct < 0:
            raise ValueError(f"invalid sampling_percentage {self.sampling_percentage!r}")
        if not 0 <= self.hash_seed <= 0xFFFFFFFF:
            raise ValueError(f"hash_seed {self.hash_seed} is not a uint32")
        if self.mode not in MODES and self.mode != "":
            raise ValueError(f"unsupported sampler mode {self.mode!r}")
        if not 0 <= self.sampling_precision <= ot.NUM_HEX_DIGITS:
            raise ValueError(f"sampling_precision {self.sampling_precision} is not in 0..14")


def _float32(value: float) -> np.float32:
    with np.errstate(over="ignore"):
        return np.float32(value)


def parse_config(section: Section) -> ProbabilisticSamplerConfig:
    """Read and validate a ``probabilistic_sampler`` section, with upstream's ``Validate`` rules."""
    section.allow(*FIELDS)
    pct = section.number("sampling_percentage", 0.0)
    pct32 = float(_float32(pct))
    if math.isinf(pct32) or math.isnan(pct32):
        raise section.error("sampling_percentage", f"sampling rate is invalid: {pct}%")
    ratio = pct32 / 100.0
    if ratio < 0:
        raise section.error("sampling_percentage", f"sampling rate is negative: {pct}%")
    if 0 < ratio < ot.MIN_SAMPLING_PROBABILITY:
        raise section.error(
            "sampling_percentage",
            f"sampling rate is too small: {pct}% (the minimum is {100 * 2.0 ** -56:g}%)")
    hash_seed = section.integer("hash_seed", 0, minimum=0, maximum=0xFFFFFFFF)
    mode = section.string("mode", "")
    if mode != "":  # upstream's UnmarshalText accepts "" as unset
        mode = section.string("mode", "", choices=MODES)
    fail_closed = section.boolean("fail_closed", True)
    attribute_source = section.string("attribute_source", "traceID")
    if attribute_source != "":  # Validate accepts an empty attribute_source
        attribute_source = section.string("attribute_source", "traceID", choices=ATTRIBUTE_SOURCES)
    from_attribute = section.string("from_attribute", "")
    sampling_priority = section.string("sampling_priority", "")
    precision = section.integer("sampling_precision", DEFAULT_PRECISION)
    if precision == 0:
        raise section.error("sampling_precision", "invalid sampling precision: 0; use 1 to 14")
    if precision > ot.NUM_HEX_DIGITS:
        raise section.error(
            "sampling_precision",
            f"sampling precision is too great, should be <= 14: {precision}")
    if precision < 0:
        # Upstream's Validate lets a negative precision through (and then samples everything);
        # Spanhouse refuses it.
        raise section.error("sampling_precision",
                            f"sampling precision must be 1 to 14: {precision}")
    return ProbabilisticSamplerConfig(
        sampling_percentage=pct, hash_seed=hash_seed, mode=mode, fail_closed=fail_closed,
        sampling_precision=precision, attribute_source=attribute_source,
        from_attribute=from_attribute, sampling_priority=sampling_priority)


# ------------------------------------------------------------------------------ the sampler
_RANDOMNESS_IN_USE = "item has sampling randomness, equalizing or proportional mode recommended"
_THRESHOLD_IN_USE = "item has sampling threshold, equalizing or proportional mode recommended"
_MISSING_RANDOMNESS = "missing randomness"
_INCONSISTENT = "inconsistent arriving threshold: item should not have been sampled"


class ProbabilisticSampler:
    """Keeps the spans the collector's ``probabilistic_sampler`` would keep, with the same
    ``trace_state`` rewrite."""

    def __init__(self, config: ProbabilisticSamplerConfig, name: str = "probabilistic_sampler",
                 telemetry: Telemetry | None = None):
        self.config = config
        self.name = name
        self.telemetry = telemetry
        self._decisions = None if telemetry is None else telemetry.counter(
            "spanhouse_probabilistic_sampler_decisions",
            "Spans seen by a probabilistic_sampler, by randomness source (policy) and decision.",
            ["processor", "policy", "sampled"])

        # makeSampler
        pct = _float32(config.sampling_percentage)
        if pct > 100:
            pct = np.float32(100)
        mode = config.mode or (HASH_SEED if config.hash_seed != 0 else DEFAULT_MODE)
        self.mode = mode
        self.never = False
        self._seed_bytes = config.hash_seed.to_bytes(4, "little")
        self._ratio = 0.0
        self._threshold = ot.NEVER_SAMPLE
        if pct == 0:
            self.never = True
            return
        ratio = max(float(pct) / 100, ot.MIN_SAMPLING_PROBABILITY)
        self._ratio = ratio
        if mode == EQUALIZING:
            self._threshold = ot.probability_to_threshold(ratio, config.sampling_precision)
        elif mode == PROPORTIONAL:
            pass  # decided per span from the arriving threshold
        else:
            scaled = int(np.float32(pct * _PERCENTAGE_SCALE))  # float32 product, truncated
            if scaled == 0:
                self.never = True
                return
            self._threshold = (_NUM_HASH_BUCKETS - scaled) << 42

    # -------------------------------------------------------------------------- per decision
    def _hash_randomness(self, tid: str) -> int:
        """``randomnessFromBytes``: a 56-bit R whose top 14 bits are 16383 - (hash & 0x3fff)."""
        hashed32 = fnv1a_32(self._seed_bytes + bytes.fromhex(tid))
        hashed = hashed32 & _BUCKET_MASK
        unused = hashed32 >> 18
        mixed = unused ^ (unused << 10)
        return ((_NUM_HASH_BUCKETS - 1 - hashed) << 42) | (mixed << 14) | hashed

    def _decide_threshold(self, otel: ot.OTelTraceState) -> int:
        if self.never:
            return ot.NEVER_SAMPLE
        if self.mode == EQUALIZING:
            tv, has = otel.tvalue_threshold()
            return tv if has and self._threshold < tv else self._threshold
        if self.mode == PROPORTIONAL:
            tv, has = otel.tvalue_threshold()
            incoming = ot.threshold_probability(tv) if has else 1.0
            try:
                return ot.probability_to_threshold(incoming * self._ratio,
                                                   self.config.sampling_precision)
            except ot.ProbabilityRangeError:
                return ot.NEVER_SAMPLE
        return self._threshold

    def decide(self, trace_id: str, trace_state: str, priority: int = DEFER):
        """One span's decision: ``(sampled, new_trace_state or None, factor, policy, error)``.

        ``factor`` multiplies the adjusted count; ``error`` is upstream's log message (or "")."""
        tid_empty = trace_id == _ZERO_TRACE_ID or len(trace_id) != 32
        w3c, err = ot.parse_w3c_tracestate(trace_state)
        error = "" if err is None else str(err)
        carrier: ot.W3CTraceState | None = w3c
        missing = write_rv = False
        if self.never:
            # neverSampler: fake randomness, and the carrier is kept even on a parse error.
            rnd, policy = ot.ALL_PROBABILITIES_RANDOMNESS, "sampling_priority"
        elif self.mode == HASH_SEED:
            if tid_empty:
                missing, rnd, policy = True, ot.ALL_PROBABILITIES_RANDOMNESS, "missing_randomness"
            else:
                rnd, policy = self._hash_randomness(trace_id), "trace_id_hash"
            if err is not None:
                carrier = None
            elif w3c.otel.rvalue:
                error, carrier = _RANDOMNESS_IN_USE, None
            elif w3c.otel.tvalue:
                error, carrier = _THRESHOLD_IN_USE, None
            else:
                # upstream sets rv here; it is only seen once the span is kept, so it is
                # written below, on the kept path
                write_rv = True
        else:
            missing, rnd, policy = True, ot.ALL_PROBABILITIES_RANDOMNESS, "missing_randomness"
            if err is not None:
                carrier = None
            elif w3c.otel.rvalue:
                missing, rnd, policy = False, w3c.otel.randomness, "sampling_randomness"
            elif not tid_empty:
                missing, rnd, policy = False, ot.trace_id_to_randomness(trace_id), "trace_id_w3c"

        if not error:  # consistencyCheck
            if missing:
                error = _MISSING_RANDOMNESS
            elif carrier is not None:
                tv, has = carrier.otel.tvalue_threshold()
                if has and not ot.should_sample(tv, rnd):
                    carrier.otel.clear_tvalue()
                    error = _INCONSISTENT

        if error:
            threshold = ot.NEVER_SAMPLE if self.config.fail_closed else ot.ALWAYS_SAMPLE
        else:
            threshold = self._decide_threshold(carrier.otel)

        if priority == DO_NOT_SAMPLE:
            threshold, policy = ot.NEVER_SAMPLE, "sampling_priority"
        elif priority == MUST_SAMPLE:
            threshold, policy = ot.ALWAYS_SAMPLE, "sampling_priority"

        sampled = ot.should_sample(threshold, rnd)
        if not sampled:
            return False, None, 0.0, policy, error
        factor = 1.0
        new_state = None
        if carrier is not None:
            if write_rv:
                carrier.otel.set_rvalue(rnd)
            before, had = carrier.otel.tvalue_threshold()
            try:
                carrier.otel.update_tvalue_with_sampling(threshold)
            except ot.InconsistentSamplingError:
                pass  # upstream logs it and keeps the existing th
            after, has = carrier.otel.tvalue_threshold()
            p_before = ot.MAX_ADJUSTED_COUNT - before if had else ot.MAX_ADJUSTED_COUNT
            p_after = ot.MAX_ADJUSTED_COUNT - after if has else ot.MAX_ADJUSTED_COUNT
            factor = p_before / p_after
            new_state = carrier.serialize()
        return True, new_state, factor, policy, error

    # -------------------------------------------------------------------------- batches
    def sample(self, batch: SpanBatch) -> SpanBatch:
        """The kept spans (a new batch, or ``batch`` itself when nothing at all changes)."""
        n = len(batch)
        if n == 0:
            return batch
        priorities = span_priorities(batch)
        trace_ids, trace_states = batch.trace_id, batch.trace_state
        decide = self.decide
        by_tid: dict = {}     # trace id -> decision, for spans with no trace_state and no priority
        by_key: dict = {}     # (trace id, trace_state, priority) -> decision, for the others
        keep: list[int] = []
        decisions: list = []
        for i in range(n):
            tid = trace_ids[i]
            ts = trace_states[i]
            prio = priorities.get(i, DEFER) if priorities else DEFER
            if not ts and prio == DEFER:
                d = by_tid.get(tid)
                if d is None:
                    d = by_tid[tid] = decide(tid, "", DEFER)
            else:
                key = (tid, ts, prio)
                d = by_key.get(key)
                if d is None:
                    d = by_key[key] = decide(tid, ts, prio)
            decisions.append(d)
            if d[0]:
                keep.append(i)

        self._count(decisions, priorities)
        old_counts = batch.adjusted_count
        old_policies = batch.sampling_policy
        new_states = [decisions[i][1] for i in keep]
        if len(keep) == n and all(s is None or s == trace_states[i]
                                  for i, s in zip(keep, new_states)):
            if old_policies and all(old_policies) and all(decisions[i][2] == 1.0 for i in keep):
                return batch
        out = batch.take(keep)
        out.trace_state = [s if s is not None else trace_states[i]
                           for i, s in zip(keep, new_states)]
        prev = old_counts if old_counts else None
        out.adjusted_count = [(prev[i] if prev else 1.0) * decisions[i][2] for i in keep]
        name = self.name
        if old_policies:
            out.sampling_policy = [old_policies[i] or name for i in keep]
        else:
            out.sampling_policy = [name] * len(keep)
        return out

    def _count(self, decisions: list, priorities: dict[int, int]) -> None:
        if self.telemetry is None:
            return
        tally: dict[tuple[str, bool], int] = {}
        dropped: dict[str, int] = {}
        for i, d in enumerate(decisions):
            sampled, _, _, policy, error = d
            tally[(policy, sampled)] = tally.get((policy, sampled), 0) + 1
            if not sampled:
                if priorities.get(i) == DO_NOT_SAMPLE:
                    reason = "sampling_priority"
                elif error:
                    reason = "sampling_error"
                else:
                    reason = "not_sampled"
                dropped[reason] = dropped.get(reason, 0) + 1
        for (policy, sampled), count in tally.items():
            self._decisions.labels(self.name, policy, "true" if sampled else "false").inc(count)
        for reason, count in dropped.items():
            self.telemetry.spans_dropped.labels(self.name, reason).inc(count)


# ------------------------------------------------------------------------------ the component
def _create(component_id: str, section: Section, context: BuildContext) -> FilterProcessor:
    config = parse_config(section)
    sampler = ProbabilisticSampler(config, name=component_id, telemetry=context.telemetry)
    settings = ", ".join(f"{f.name} {getattr(config, f.name)}" for f in fields(config))
    return FilterProcessor(component_id, sampler.sample, describe=settings)


FACTORY = Factory("processor", "probabilistic_sampler", _create)
