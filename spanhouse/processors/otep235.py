"""OTEP 235 consistent-probability sampling values, as the collector's ``pkg/sampling`` has them.

Ported from ``open-telemetry/opentelemetry-collector-contrib`` ``pkg/sampling`` (``threshold.go``,
``randomness.go``, ``probability.go``, ``oteltracestate.go``, ``w3ctracestate.go``, ``common.go``).
Every rule below is that code's, including its quirks, so a span leaves Spanhouse with the
very ``tracestate`` bytes the collector would write.

Numbers are plain ints on a 56-bit scale (``MAX_ADJUSTED_COUNT`` = 2**56):

- a *threshold* ``T`` counts the rejected randomness values: 0 samples everything
  (``ALWAYS_SAMPLE``, written ``th:0``), 2**56 samples nothing (``NEVER_SAMPLE``, not writable);
- a *randomness* ``R`` is 56 random bits: the ``rv`` sub-key, or the trace id's last 7 bytes;
- a span is kept when ``T <= R`` (``should_sample``).

The W3C ``tracestate`` is parsed into ``W3CTraceState`` (the ``ot`` entry as ``OTelTraceState``
plus the other vendors' entries, in order). Parsing mirrors Go's ``(value, err)`` pair: it
returns the state it got to *and* the error, because the processor writes a partially parsed
state back in one case (a 0% sampler that keeps a span by ``sampling.priority``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_ADJUSTED_COUNT = 1 << 56
NUM_HEX_DIGITS = 14
MIN_SAMPLING_PROBABILITY = 1.0 / MAX_ADJUSTED_COUNT
ALWAYS_SAMPLE = 0
NEVER_SAMPLE = MAX_ADJUSTED_COUNT
ALL_PROBABILITIES_RANDOMNESS = MAX_ADJUSTED_COUNT - 1

_HARD_MAX_W3C_LENGTH = 1024
_HARD_MAX_OTEL_LENGTH = 256
_HARD_MAX_NUM_PAIRS = 32
_HARD_MAX_KEY_LENGTH = 256
_HARD_MAX_TENANT_LENGTH = 241
_HARD_MAX_SYSTEM_LENGTH = 14

_HEX = frozenset("0123456789abcdefABCDEF")
_LC_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")
_LC_ALNUM = _LC_ALPHA | frozenset("0123456789")
_W3C_KEY_CHARS = _LC_ALNUM | frozenset("_-*/")
_OTEL_VALUE_CHARS = _LC_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ._-")
_W3C_NONBLANK = frozenset(chr(c) for c in range(0x21, 0x7F) if c not in (0x2C, 0x3D))
_W3C_VALUE_CHARS = _W3C_NONBLANK | {" "}


# ---------------------------------------------------------------------------------- errors
class SamplingError(ValueError):
    """Base of the errors below; ``str()`` is upstream's message."""


class TValueSizeError(SamplingError):
    def __init__(self) -> None:
        super().__init__("t-value exceeds 14 hex digits")


class TValueEmptyError(SamplingError):
    def __init__(self) -> None:
        super().__init__("t-value is empty")


class RValueSizeError(SamplingError):
    def __init__(self) -> None:
        super().__init__("r-value must have 14 hex digits")


class TraceStateSizeError(SamplingError):
    def __init__(self) -> None:
        super().__init__("invalid tracestate size")


class TraceStateSyntaxError(SamplingError):
    def __init__(self) -> None:
        super().__init__("invalid syntax")  # Go's strconv.ErrSyntax


class ProbabilityRangeError(SamplingError):
    def __init__(self) -> None:
        super().__init__("sampling probability out of the range [1/MaxAdjustedCount, 1]")


class InconsistentSamplingError(SamplingError):
    def __init__(self) -> None:
        super().__init__("cannot raise existing sampling probability")


class MultiError(SamplingError):
    """Several errors from one scan (Go's ``multierr.Append``: messages joined by ``; ``)."""

    def __init__(self, errors: list[SamplingError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _combine(errors: list[SamplingError]) -> SamplingError | None:
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else MultiError(errors)


def _parse_hex(text: str) -> int:
    """Go's ``strconv.ParseUint(text, 16, 64)`` for at most 14 digits: hex digits only."""
    if not text or not all(c in _HEX for c in text):
        raise TraceStateSyntaxError()
    return int(text, 16)


# ---------------------------------------------------------------------------------- thresholds
def tvalue_to_threshold(tvalue: str) -> int:
    """Parse a ``th`` value (1-14 hex digits, trailing zeros omitted)."""
    if len(tvalue) > NUM_HEX_DIGITS:
        raise TValueSizeError()
    if not tvalue:
        raise TValueEmptyError()
    return _parse_hex(tvalue) << (4 * (NUM_HEX_DIGITS - len(tvalue)))


def threshold_to_tvalue(threshold: int) -> str:
    """Encode a threshold: ``"0"`` for always, ``""`` for never, else trailing zeros trimmed."""
    if threshold == ALWAYS_SAMPLE:
        return "0"
    if threshold >= NEVER_SAMPLE:
        return ""
    return f"{threshold:014x}".rstrip("0")


def unsigned_to_threshold(unsigned: int) -> int:
    if unsigned >= MAX_ADJUSTED_COUNT:
        raise TValueSizeError()
    return unsigned


def should_sample(threshold: int, randomness: int) -> bool:
    return threshold <= randomness


def threshold_probability(threshold: int) -> float:
    """Sampling probability of a threshold: ``(2**56 - T) / 2**56``."""
    return float(MAX_ADJUSTED_COUNT - threshold) / float(MAX_ADJUSTED_COUNT)


def threshold_adjusted_count(threshold: int) -> float:
    """``1 / probability``; 0 for ``NEVER_SAMPLE`` (the item should not exist)."""
    if threshold == NEVER_SAMPLE:
        return 0.0
    return 1.0 / threshold_probability(threshold)


def _go_round(x: float) -> int:
    """Go's ``math.Round`` for x >= 0: half away from zero (Python's ``round`` is half-even)."""
    whole = math.floor(x)
    return int(whole) + (1 if x - whole >= 0.5 else 0)


def probability_to_threshold(fraction: float, precision: int = NUM_HEX_DIGITS) -> int:
    """``ProbabilityToThresholdWithPrecision``: the threshold for a probability, rounded to
    ``precision`` significant hex digits (0 means 14). Leading ``0``/``f`` digits do not count
    toward the precision, so probabilities near 0 or 1 keep their relative accuracy."""
    if precision == 0:
        precision = NUM_HEX_DIGITS
    if precision < 0:
        raise ValueError("precision must be 0..14")
    if not (MIN_SAMPLING_PROBABILITY <= fraction <= 1):
        raise ProbabilityRangeError()
    if fraction == 1:
        return ALWAYS_SAMPLE
    _, exp_f = math.frexp(fraction)
    _, exp_r = math.frexp(1 - fraction)
    # Go: expF / -hexBits, with expF <= 0, truncating division.
    precision = min(NUM_HEX_DIGITS, max(precision + (-exp_f) // 4, precision + (-exp_r) // 4))
    threshold = MAX_ADJUSTED_COUNT - _go_round(fraction * float(MAX_ADJUSTED_COUNT))
    shift = 4 * (NUM_HEX_DIGITS - precision)
    if shift:
        threshold += 1 << (shift - 1)
        threshold >>= shift
        threshold <<= shift
    return threshold


# ---------------------------------------------------------------------------------- randomness
def rvalue_to_randomness(rvalue: str) -> int:
    """Parse an ``rv`` value: exactly 14 hex digits (either case)."""
    if len(rvalue) != NUM_HEX_DIGITS:
        raise RValueSizeError()
    return _parse_hex(rvalue)


def randomness_to_rvalue(randomness: int) -> str:
    """14 lowercase hex digits; ``""`` when out of range (as upstream)."""
    if not 0 <= randomness < MAX_ADJUSTED_COUNT:
        return ""
    return f"{randomness:014x}"


def unsigned_to_randomness(unsigned: int) -> int:
    if unsigned >= MAX_ADJUSTED_COUNT:
        raise RValueSizeError()
    return unsigned


def trace_id_to_randomness(trace_id_hex: str) -> int:
    """The W3C randomness of a trace id: its last 7 bytes (the last 14 hex digits)."""
    return int(trace_id_hex[-14:], 16)


# ---------------------------------------------------------------------------------- `ot` entry
@dataclass(slots=True)
class OTelTraceState:
    """The ``ot`` entry of a W3C tracestate: ``rv``, ``th`` and other sub-keys, in order."""

    rvalue: str = ""             # as received (case preserved), "" when absent
    randomness: int = 0
    tvalue: str = ""             # as received (trailing zeros kept), "" when absent
    threshold: int = ALWAYS_SAMPLE
    extra: list[tuple[str, str]] = field(default_factory=list)

    def rvalue_randomness(self) -> tuple[int, bool]:
        return self.randomness, self.rvalue != ""

    def tvalue_threshold(self) -> tuple[int, bool]:
        return self.threshold, self.tvalue != ""

    def update_tvalue_with_sampling(self, threshold: int) -> None:
        """Record that this item was sampled at ``threshold``. Raises
        ``InconsistentSamplingError`` (and changes nothing) when that would raise the
        existing sampling probability."""
        if self.tvalue != "" and self.threshold > threshold:
            raise InconsistentSamplingError()
        self.threshold = threshold
        self.tvalue = threshold_to_tvalue(threshold)

    def adjusted_count(self) -> float:
        if self.tvalue == "":
            return 0.0
        return threshold_adjusted_count(self.threshold)

    def clear_tvalue(self) -> None:
        self.tvalue = ""
        self.threshold = ALWAYS_SAMPLE

    def set_rvalue(self, randomness: int) -> None:
        self.randomness = randomness
        self.rvalue = randomness_to_rvalue(randomness)

    def clear_rvalue(self) -> None:
        self.rvalue = ""
        self.randomness = 0

    def has_any_value(self) -> bool:
        return self.rvalue != "" or self.tvalue != "" or bool(self.extra)

    def serialize(self) -> str:
        parts = []
        if self.rvalue:
            parts.append("rv:" + self.rvalue)
        if self.tvalue:
            parts.append("th:" + self.tvalue)
        parts.extend(f"{k}:{v}" for k, v in self.extra)
        return ";".join(parts)


def _valid_otel(text: str) -> bool:
    # list = key ":" value *( ";" key ":" value ); key = lcalpha *(lcalpha / DIGIT)
    if not text or text[-1] == ";":
        return False
    for member in text.split(";"):
        colon = member.find(":")
        if colon < 1:
            return False
        key, value = member[:colon], member[colon + 1:]
        if key[0] not in _LC_ALPHA or not all(c in _LC_ALNUM for c in key[1:]):
            return False
        if not all(c in _OTEL_VALUE_CHARS for c in value):
            return False
    return True


def parse_otel_tracestate(text: str) -> tuple[OTelTraceState, SamplingError | None]:
    """Parse the value of the ``ot`` entry. Returns the (possibly partial) state and the error:
    a bad ``rv``/``th`` is dropped (the rest kept); a size or syntax error gives an empty state."""
    otts = OTelTraceState()
    if len(text) > _HARD_MAX_OTEL_LENGTH:
        return otts, TraceStateSizeError()
    if not _valid_otel(text):
        return otts, TraceStateSyntaxError()
    errors: list[SamplingError] = []
    for member in text.split(";"):
        key, _, value = member.partition(":")
        if key == "rv":
            try:
                otts.randomness = rvalue_to_randomness(value)
                otts.rvalue = value
            except SamplingError as exc:
                otts.rvalue, otts.randomness = "", 0
                errors.append(exc)
        elif key == "th":
            try:
                otts.threshold = tvalue_to_threshold(value)
                otts.tvalue = value
            except SamplingError as exc:
                otts.tvalue, otts.threshold = "", ALWAYS_SAMPLE
                errors.append(exc)
        else:
            otts.extra.append((key, value))
    return otts, _combine(errors)


# ---------------------------------------------------------------------------------- W3C list
@dataclass(slots=True)
class W3CTraceState:
    """A parsed W3C ``tracestate``: the ``ot`` entry and every other entry, in order."""

    otel: OTelTraceState = field(default_factory=OTelTraceState)
    extra: list[tuple[str, str]] = field(default_factory=list)

    def has_any_value(self) -> bool:
        return self.otel.has_any_value() or bool(self.extra)

    def serialize(self) -> str:
        """``ot=…`` first (when it has anything), then the other entries: upstream's order."""
        parts = []
        if self.otel.has_any_value():
            parts.append("ot=" + self.otel.serialize())
        parts.extend(f"{k}={v}" for k, v in self.extra)
        return ",".join(parts)


def _valid_w3c_key(key: str) -> bool:
    tenant, at, system = key.partition("@")
    if at:
        if not tenant or not system:
            return False
        if tenant[0] not in _LC_ALNUM or system[0] not in _LC_ALPHA:
            return False
        return all(c in _W3C_KEY_CHARS for c in tenant[1:]) and all(
            c in _W3C_KEY_CHARS for c in system[1:])
    return key[0] in _LC_ALPHA and all(c in _W3C_KEY_CHARS for c in key[1:])


def _valid_w3c_value(value: str) -> bool:
    if not value or len(value) > 256 or value[-1] not in _W3C_NONBLANK:
        return False
    return all(c in _W3C_VALUE_CHARS for c in value[:-1])


def _trim_ows(text: str) -> str:
    return text.strip(" \t")


def _valid_w3c(text: str) -> bool:
    for member in text.split(","):
        member = _trim_ows(member)
        if not member:
            continue  # empty list members are allowed
        eq = member.find("=")
        if eq < 1:
            return False
        if not _valid_w3c_key(member[:eq]) or not _valid_w3c_value(member[eq + 1:]):
            return False
    return True


def parse_w3c_tracestate(text: str) -> tuple[W3CTraceState, SamplingError | None]:
    """Parse a W3C ``tracestate`` string (``""`` is valid and empty). Returns the (possibly
    partial) state and the error, like upstream's ``NewW3CTraceState``."""
    w3c = W3CTraceState()
    if text == "":
        return w3c, None
    if len(text) > _HARD_MAX_W3C_LENGTH:
        return w3c, TraceStateSizeError()
    if not _valid_w3c(text):
        return w3c, TraceStateSyntaxError()
    errors: list[SamplingError] = []
    for items, member in enumerate(text.split(","), start=1):
        # Upstream counts every list member, empty ones included, and stops at the 32nd.
        if items >= _HARD_MAX_NUM_PAIRS:
            return w3c, TraceStateSizeError()
        member = _trim_ows(member)
        if not member:
            continue
        key, _, value = member.partition("=")
        if len(key) > _HARD_MAX_KEY_LENGTH:
            errors.append(TraceStateSizeError())
            continue
        tenant, at, system = key.partition("@")
        if at and (len(tenant) > _HARD_MAX_TENANT_LENGTH or len(system) > _HARD_MAX_SYSTEM_LENGTH):
            errors.append(TraceStateSizeError())
            continue
        if key == "ot":
            w3c.otel, err = parse_otel_tracestate(value)
            if err is not None:
                errors.append(err)
        else:
            w3c.extra.append((key, value))
    return w3c, _combine(errors)
