"""What the doctor is asked: which business keys, how far to look for missing relatives, and
when each check reports (``Thresholds``); checked before any query runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spanhouse.errors import InvalidInput

DEFAULT_BUSINESS_KEYS = ("user.id", "order.id", "tenant.id")
MAX_BUSINESS_KEYS = 50
MAX_KEY_LENGTH = 256
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND

_KEY = re.compile(r"^[^\s'\"`\\\x00-\x1f\x7f]+$")


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
    # (0: always the whole window); see ``relations.relation_slice``.
    max_checked_spans: int = 300_000


def check_options(options: DoctorOptions) -> DoctorOptions:
    """``options`` when valid, else ``InvalidInput``. Business keys reach SQL as bound
    parameters; one with spaces or quotes is refused as a typing mistake, not for safety."""
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
