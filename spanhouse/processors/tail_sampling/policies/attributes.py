"""Attribute and trace-state policies: ``numeric_attribute``, ``string_attribute``,
``boolean_attribute``, ``trace_state``.

Ported from upstream ``internal/sampling/{numeric,string,boolean}_tag_filter.go`` and
``trace_state_filter.go``. Like upstream, the attribute policies look at every *resource* and
every *span* of the trace independently (a resource attribute in range samples the trace even
if a span attribute of the same key is out of range), and read values with pdata's typed
getters (see ``base``):

- ``numeric_attribute`` reads ``Int()``: an attribute of another type (string, double, ...)
  reads as 0, so it matches when 0 is in ``[min_value, max_value]``;
- ``boolean_attribute`` reads ``Bool()``: a non-bool attribute reads as false, so it matches
  ``value: false``;
- ``string_attribute`` reads ``Str()``: a non-string attribute reads as "", which never equals
  a configured value (empty values are ignored) but can match a regex on a *resource*
  attribute (upstream only skips empty strings on spans).

With ``invert_match`` they return ``InvertSampled`` when no resource and no span matches, else
``InvertNotSampled`` (the collector's default; its alpha ``disableinvertdecisions`` feature
gate is not modelled).
"""

from __future__ import annotations

import re

from cachetools import LRUCache

from spanhouse.model.batch import SpanBatch
from spanhouse.model.limits import INT64_MAX, INT64_MIN
from spanhouse.processors.tail_sampling.policies.base import (
    as_bool, as_int, as_str, every_resource_and_span, has_resource_or_span, has_span,
)
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import (
    INVERT_NOT_SAMPLED, INVERT_SAMPLED, NOT_SAMPLED, SAMPLED, Verdict,
)

DEFAULT_CACHE_SIZE = 128


class _AttributeFilter:
    """Shared evaluation: ``matches(found)`` on the value of ``key`` in each resource/span."""

    name: str
    key: str
    invert_match: bool = False

    def matches(self, found: tuple[str, int]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def matches_span(self, found: tuple[str, int]) -> bool:
        return self.matches(found)

    def evaluate(self, trace: TraceView) -> Verdict:
        key = self.key

        def resource_matches(batch: SpanBatch, r: int) -> bool:
            found = batch.resource_attributes.lookup(r, key)
            return found is not None and self.matches(found)

        def span_matches(batch: SpanBatch, row: int) -> bool:
            found = batch.attributes.lookup(row, key)
            return found is not None and self.matches_span(found)

        if self.invert_match:
            ok = every_resource_and_span(trace, lambda b, r: not resource_matches(b, r),
                                         lambda b, row: not span_matches(b, row))
            return INVERT_SAMPLED if ok else INVERT_NOT_SAMPLED
        return SAMPLED if has_resource_or_span(trace, resource_matches, span_matches) else NOT_SAMPLED


class NumericAttribute(_AttributeFilter):
    """``numeric_attribute``: an Int attribute in ``[min_value, max_value]`` (an unset bound,
    i.e. 0 in the config, is open, as upstream passes a nil pointer for 0)."""

    def __init__(self, name: str, key: str, min_value: int | None, max_value: int | None,
                 invert_match: bool = False):
        self.name = name
        self.key = key
        self.min_value = INT64_MIN if min_value is None else min_value
        self.max_value = INT64_MAX if max_value is None else max_value
        self.invert_match = invert_match

    def matches(self, found: tuple[str, int]) -> bool:
        return self.min_value <= as_int(found) <= self.max_value


class BooleanAttribute(_AttributeFilter):
    """``boolean_attribute``: an attribute whose ``Bool()`` equals ``value``."""

    def __init__(self, name: str, key: str, value: bool, invert_match: bool = False):
        self.name = name
        self.key = key
        self.value = value
        self.invert_match = invert_match

    def matches(self, found: tuple[str, int]) -> bool:
        return as_bool(found) == self.value


class StringAttribute(_AttributeFilter):
    """``string_attribute``: exact values, or (``enabled_regex_matching``) regexes searched
    anywhere in the value (Go's ``MatchString`` is not anchored), with an LRU cache of results
    (``cache_max_size``, default 128)."""

    def __init__(self, name: str, key: str, values: list[str], enabled_regex_matching: bool = False,
                 cache_max_size: int = 0, invert_match: bool = False,
                 patterns: list[re.Pattern] | None = None):
        self.name = name
        self.key = key
        self.invert_match = invert_match
        self.regex = enabled_regex_matching
        if enabled_regex_matching:
            self.patterns = patterns if patterns is not None else [re.compile(v) for v in values]
            self.cache: LRUCache[str, bool] = LRUCache(
                cache_max_size if cache_max_size > 0 else DEFAULT_CACHE_SIZE)
        else:
            self.values = frozenset(v for v in values if v != "")

    def _match_text(self, text: str) -> bool:
        if not self.regex:
            return text in self.values
        cached = self.cache.get(text)
        if cached is not None:
            return cached
        result = any(p.search(text) for p in self.patterns)
        self.cache[text] = result
        return result

    def matches(self, found: tuple[str, int]) -> bool:        # resources: no empty-string check
        return self._match_text(as_str(found))

    def matches_span(self, found: tuple[str, int]) -> bool:   # spans: empty strings never match
        text = as_str(found)
        return len(text) > 0 and self._match_text(text)


# ------------------------------------------------------------------ trace_state
_TS_KEY = re.compile(r"^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$")
_TS_VALUE = re.compile(r"^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$")
_TS_MAX_MEMBERS = 32


def parse_trace_state(raw: str) -> dict[str, str] | None:
    """W3C ``tracestate`` as OpenTelemetry Go's ``trace.ParseTraceState`` reads it; None when
    it is invalid (bad key/value, duplicate key, more than 32 members)."""
    members: dict[str, str] = {}
    if raw == "":
        return members
    for part in raw.split(","):
        part = part.strip(" \t")
        if part == "":
            continue
        key, sep, value = part.partition("=")
        if not sep or not _TS_KEY.match(key) or not _TS_VALUE.match(value) or key in members:
            return None
        members[key] = value
        if len(members) > _TS_MAX_MEMBERS:
            return None
    return members


class TraceState:
    """``trace_state``: a span whose trace state has ``key`` equal to one of ``values``
    (values that are empty, or whose ``key=value`` would exceed 256 characters, are ignored)."""

    def __init__(self, name: str, key: str, values: list[str]):
        self.name = name
        self.key = key
        self.values = frozenset(v for v in values if v != "" and len(key) + len(v) < 256)

    def evaluate(self, trace: TraceView) -> Verdict:
        key, values = self.key, self.values

        def span_matches(batch: SpanBatch, row: int) -> bool:
            state = parse_trace_state(batch.trace_state[row])
            return state is not None and state.get(key, "") in values

        return SAMPLED if has_span(trace, span_matches) else NOT_SAMPLED
