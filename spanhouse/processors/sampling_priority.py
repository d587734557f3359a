"""The ``sampling.priority`` span attribute, which overrides a sampler's decision.

As upstream's ``parseSpanSamplingPriority`` (``probabilisticsamplerprocessor``): 0 drops the
span, a value above 0 keeps it, anything else (negative, NaN, not a number) leaves the decision
to the sampler. The value may be an int, a double, or a string Go's ``ParseFloat`` reads.
"""

from __future__ import annotations

import bisect
import math
import re

from spanhouse.model.attributes import DOUBLE, INT, STRING
from spanhouse.model.batch import SpanBatch

DEFER, MUST_SAMPLE, DO_NOT_SAMPLE = 0, 1, 2
KEY = "sampling.priority"

_DIGITS = r"\d(?:_?\d)*"                      # Go allows "_" between digits
_HEXDIGITS = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_DECIMAL = re.compile(
    rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?\Z")
_GO_HEX = re.compile(  # a hex mantissa needs a p exponent
    rf"[+-]?0[xX](?:_?{_HEXDIGITS}(?:\.(?:{_HEXDIGITS})?)?|\.{_HEXDIGITS})[pP][+-]?{_DIGITS}\Z")
_GO_SPECIAL = re.compile(r"[+-]?(?:inf|infinity|nan)\Z", re.IGNORECASE)


def go_parse_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)``: the value, or None where Go returns an error
    (bad syntax, or a finite literal beyond the float64 range, which Go reports as ErrRange)."""
    if _GO_SPECIAL.match(text):
        return float(text)
    try:
        if _GO_DECIMAL.match(text):
            value = float(text.replace("_", ""))
        elif _GO_HEX.match(text):
            value = float.fromhex(text.replace("_", ""))
        else:
            return None
    except (OverflowError, ValueError):
        return None
    return None if math.isinf(value) else value


def priority_of(value: str, type_code: int) -> int:
    """``parseSpanSamplingPriority`` for one attribute value."""
    if type_code == INT:
        number: float | None = int(value)
    elif type_code == DOUBLE:
        number = float(value)
    elif type_code == STRING:
        number = go_parse_float(value)
    else:
        return DEFER
    if number is None:
        return DEFER
    if number == 0:
        return DO_NOT_SAMPLE
    if number > 0:
        return MUST_SAMPLE
    return DEFER  # negative or NaN


def span_priorities(batch: SpanBatch) -> dict[int, int]:
    """Span index -> priority, for the spans carrying ``sampling.priority`` (usually none)."""
    attrs = batch.attributes
    keys = attrs.keys
    if KEY not in keys:
        return {}
    out: dict[int, int] = {}
    offsets = attrs.offsets
    for pos, key in enumerate(keys):
        if key != KEY:
            continue
        span = bisect.bisect_right(offsets, pos) - 1
        if span not in out:  # pcommon Map.Get: the first entry with that key
            out[span] = priority_of(attrs.values[pos], attrs.types[pos])
    return out
