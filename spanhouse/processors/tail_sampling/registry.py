"""Build sampling policies from the ``tail_sampling`` processor's ``policies`` config.

The layout is the collector's (``processor/tailsamplingprocessor/config.go``): each policy has
a ``name``, a ``type`` and its settings under the key named after the type::

    policies:
      - name: slow
        type: latency
        latency: {threshold_ms: 500}
      - name: errors-of-checkout
        type: and
        and:
          and_sub_policy:
            - {name: err, type: status_code, status_code: {status_codes: [ERROR]}}
            - {name: svc, type: string_attribute,
               string_attribute: {key: service.name, values: [checkout]}}

Where each type may appear follows upstream: ``and``, ``drop`` and ``not`` take only the basic
policies; ``composite`` sub-policies may also be ``and``; top-level policies may be anything.
Every mistake is a ``ConfigError`` at the full dotted key, unknown fields and types with a
"did you mean".
"""

from __future__ import annotations

import re
from typing import Callable

from spanhouse.config.section import Section, suggest
from spanhouse.errors import ConfigError
from spanhouse.model.limits import INT64_MAX, INT64_MIN
from spanhouse.goregex import go_regex
from spanhouse.processors.tail_sampling.policies.always_sample import AlwaysSample
from spanhouse.processors.tail_sampling.policies.attributes import (
    BooleanAttribute, NumericAttribute, StringAttribute, TraceState,
)
from spanhouse.processors.tail_sampling.policies.base import Clock, Policy
from spanhouse.processors.tail_sampling.policies.combinators import (
    And, Composite, Drop, Not, rate_allocation,
)
from spanhouse.processors.tail_sampling.policies.latency import Latency
from spanhouse.processors.tail_sampling.policies.limits import BytesLimiting, RateLimiting
from spanhouse.processors.tail_sampling.policies.ottl import ERROR_MODES, build_ottl_condition
from spanhouse.processors.tail_sampling.policies.probabilistic import Probabilistic
from spanhouse.processors.tail_sampling.policies.span_count import SpanCount
from spanhouse.processors.tail_sampling.policies.status_code import STATUS_CODES, StatusCode
from spanhouse.processors.tail_sampling.policies.trace_flags import TraceFlags

INT32_MAX = 2 ** 31 - 1

# sharedPolicyCfg: the basic policies, and the settings block each one reads
SHARED_BLOCKS = (
    "latency", "numeric_attribute", "probabilistic", "status_code", "string_attribute",
    "rate_limiting", "bytes_limiting", "span_count", "trace_state", "boolean_attribute",
    "ottl_condition",
)
SHARED_TYPES = ("always_sample", *SHARED_BLOCKS, "trace_flags")
LEVELS = {
    # level: (types allowed, extra settings blocks allowed)
    "policy": (SHARED_TYPES + ("and", "composite", "drop", "not"), ("and", "composite", "drop", "not")),
    "composite": (SHARED_TYPES + ("and",), ("and",)),
    "sub": (SHARED_TYPES, ()),
}


def build_policies(sections: list[Section], clock: Clock) -> list[Policy]:
    """The processor's policies, ``drop`` policies first (upstream ``loadSamplingPolicy``:
    a Dropped decision wins, so they are evaluated before the others)."""
    names: set[str] = set()
    drops: list[Policy] = []
    others: list[Policy] = []
    for section in sections:
        name = section.string("name", default="")
        if name == "":
            raise ConfigError("policy name cannot be empty", section.key_of("name"))
        if name in names:
            raise ConfigError(f"duplicate policy name {name!r}", section.key_of("name"))
        names.add(name)
        policy = build_policy(section, clock)
        (drops if section.raw("type") == "drop" else others).append(policy)
    return drops + others


def build_policy(section: Section, clock: Clock, level: str = "policy") -> Policy:
    """One policy from its config mapping; ``level`` is where it sits ("policy" at the top,
    "composite" under ``composite_sub_policy``, "sub" under and/drop/not)."""
    types, extra_blocks = LEVELS[level]
    section.allow("name", "type", *SHARED_BLOCKS, *extra_blocks)
    kind = section.string("type")
    if kind not in types:
        where = {"policy": "", "composite": " in a composite_sub_policy",
                 "sub": " in an and/drop/not sub-policy"}[level]
        raise ConfigError(
            f"unknown sampling policy type {kind!r}{where}{suggest(kind, types)}; "
            f"the types here are: {', '.join(types)}", section.key_of("type"))
    name = section.string("name", default="") or kind
    return _BUILDERS[kind](name, section, clock)


# ------------------------------------------------------------------ builders
def _always_sample(name: str, section: Section, clock: Clock) -> Policy:
    return AlwaysSample(name)


def _trace_flags(name: str, section: Section, clock: Clock) -> Policy:
    return TraceFlags(name)


def _latency(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("latency").allow("threshold_ms", "upper_threshold_ms")
    threshold = cfg.integer("threshold_ms", default=0, minimum=INT64_MIN, maximum=INT64_MAX)
    upper = cfg.integer("upper_threshold_ms", default=0, minimum=INT64_MIN, maximum=INT64_MAX)
    return Latency(name, threshold, upper)


def _numeric_attribute(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("numeric_attribute").allow("key", "min_value", "max_value", "invert_match")
    key = _key(cfg)
    lo = cfg.integer("min_value", default=0, minimum=INT64_MIN, maximum=INT64_MAX)
    hi = cfg.integer("max_value", default=0, minimum=INT64_MIN, maximum=INT64_MAX)
    if lo == 0 and hi == 0:
        raise cfg.error(None, "at least one of min_value or max_value must be set "
                              "(0 means unset, as in the collector)")
    return NumericAttribute(name, key, lo if lo != 0 else None, hi if hi != 0 else None,
                            cfg.boolean("invert_match", default=False))


def _probabilistic(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("probabilistic").allow("hash_salt", "sampling_percentage")
    return Probabilistic(name, cfg.number("sampling_percentage", default=0.0),
                         cfg.string("hash_salt", default=""))


def _status_code(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("status_code").allow("status_codes")
    codes = cfg.strings("status_codes", default=[])
    if not codes:
        raise cfg.error("status_codes", "expected at least one status code to filter on")
    for i, code in enumerate(codes):
        if code not in STATUS_CODES:
            raise ConfigError(f"unknown status code {code!r}{suggest(code, STATUS_CODES)}, "
                              f"supported: OK, ERROR, UNSET", f"{cfg.key_of('status_codes')}[{i}]")
    return StatusCode(name, codes)


def _string_attribute(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("string_attribute").allow(
        "key", "values", "enabled_regex_matching", "cache_max_size", "invert_match")
    key = _key(cfg)
    values = cfg.strings("values", default=[])
    regex = cfg.boolean("enabled_regex_matching", default=False)
    patterns = None
    if regex:
        patterns = []
        for i, value in enumerate(values):
            try:
                patterns.append(re.compile(go_regex(value)))
            except re.error as exc:
                raise ConfigError(f"invalid regex {value!r}: {exc}",
                                  f"{cfg.key_of('values')}[{i}]") from None
    return StringAttribute(name, key, values, regex, cfg.integer("cache_max_size", default=0),
                           cfg.boolean("invert_match", default=False), patterns)


def _rate_limiting(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("rate_limiting").allow("spans_per_second")
    return RateLimiting(name, cfg.integer("spans_per_second", default=0, minimum=0), clock)


def _bytes_limiting(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("bytes_limiting").allow("bytes_per_second", "burst_capacity")
    return BytesLimiting(name, cfg.integer("bytes_per_second", default=0, minimum=0),
                         cfg.integer("burst_capacity", default=0, minimum=0), clock)


def _span_count(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("span_count").allow("min_spans", "max_spans")
    return SpanCount(name, cfg.integer("min_spans", default=0, minimum=-INT32_MAX - 1, maximum=INT32_MAX),
                     cfg.integer("max_spans", default=0, minimum=-INT32_MAX - 1, maximum=INT32_MAX))


def _trace_state(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("trace_state").allow("key", "values")
    return TraceState(name, _key(cfg), cfg.strings("values", default=[]))


def _boolean_attribute(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("boolean_attribute").allow("key", "value", "invert_match")
    return BooleanAttribute(name, _key(cfg), cfg.boolean("value", default=False),
                            cfg.boolean("invert_match", default=False))


def _ottl_condition(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("ottl_condition").allow("error_mode", "span", "spanevent")
    mode = cfg.string("error_mode", default="")
    if mode and mode not in ERROR_MODES:
        raise ConfigError(f"{mode!r} is not one of {', '.join(ERROR_MODES)}{suggest(mode, ERROR_MODES)}",
                          cfg.key_of("error_mode"))
    span = cfg.strings("span", default=[])
    spanevent = cfg.strings("spanevent", default=[])
    if not span and not spanevent:
        raise cfg.error(None, "expected at least one OTTL condition to filter on (span or spanevent)")
    return build_ottl_condition(name, span, spanevent, mode or "propagate", cfg.key)


def _and(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("and").allow("and_sub_policy")
    return And(name, [build_policy(s, clock, "sub") for s in cfg.sections("and_sub_policy")])


def _drop(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("drop").allow("drop_sub_policy")
    return Drop(name, [build_policy(s, clock, "sub") for s in cfg.sections("drop_sub_policy")])


def _not(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("not").allow("not_sub_policy")
    if not cfg.has("not_sub_policy") or cfg.raw("not_sub_policy") is None:
        raise cfg.error("not_sub_policy", "is required (the one policy to negate)")
    return Not(name, build_policy(cfg.section("not_sub_policy"), clock, "sub"))


def _composite(name: str, section: Section, clock: Clock) -> Policy:
    cfg = section.section("composite").allow(
        "max_total_spans_per_second", "policy_order", "composite_sub_policy", "rate_allocation")
    max_total = cfg.integer("max_total_spans_per_second", default=0, minimum=0)
    cfg.strings("policy_order", default=[])          # accepted, unused (as upstream)
    subs = cfg.sections("composite_sub_policy")
    built = [(s.string("name", default=""), build_policy(s, clock, "composite")) for s in subs]
    allocations = []
    for alloc in cfg.sections("rate_allocation"):
        alloc.allow("policy", "percent")
        allocations.append((alloc.string("policy", default=""),
                            alloc.integer("percent", default=0, minimum=INT64_MIN, maximum=INT64_MAX)))
    shares = rate_allocation(max_total, len(subs), allocations)
    return Composite(name, max_total, [(policy, shares.get(sub_name, 0)) for sub_name, policy in built],
                     clock)


def _key(cfg: Section) -> str:
    key = cfg.string("key", default="")
    if key == "":
        raise cfg.error("key", "is required (the attribute key to match)")
    return key


_BUILDERS: dict[str, Callable[[str, Section, Clock], Policy]] = {
    "always_sample": _always_sample,
    "latency": _latency,
    "numeric_attribute": _numeric_attribute,
    "probabilistic": _probabilistic,
    "status_code": _status_code,
    "string_attribute": _string_attribute,
    "rate_limiting": _rate_limiting,
    "bytes_limiting": _bytes_limiting,
    "span_count": _span_count,
    "trace_state": _trace_state,
    "boolean_attribute": _boolean_attribute,
    "ottl_condition": _ottl_condition,
    "trace_flags": _trace_flags,
    "and": _and,
    "drop": _drop,
    "not": _not,
    "composite": _composite,
}
