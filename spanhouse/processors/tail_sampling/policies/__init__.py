"""The ``tail_sampling`` processor's sampling policies (a port of the OTel Collector's
``processor/tailsamplingprocessor/internal/sampling``). Build them from config with
``spanhouse.processors.tail_sampling.registry.build_policies``."""

from spanhouse.processors.tail_sampling.policies.attributes import (
    BooleanAttribute, NumericAttribute, StringAttribute, TraceState,
)
from spanhouse.processors.tail_sampling.policies.base import Policy, PolicyError
from spanhouse.processors.tail_sampling.policies.combinators import (
    And, Composite, Drop, Not, rate_allocation,
)
from spanhouse.processors.tail_sampling.policies.limits import BytesLimiting, RateLimiting, TokenBucket
from spanhouse.processors.tail_sampling.policies.ottl import OTTLCondition
from spanhouse.processors.tail_sampling.policies.timing import (
    AlwaysSample, Latency, Probabilistic, SpanCount, StatusCode, TraceFlags, calculate_threshold,
)

__all__ = [
    "AlwaysSample", "And", "BooleanAttribute", "BytesLimiting", "Composite", "Drop", "Latency",
    "Not", "NumericAttribute", "OTTLCondition", "Policy", "PolicyError", "Probabilistic",
    "RateLimiting", "SpanCount", "StatusCode", "StringAttribute", "TokenBucket", "TraceFlags",
    "TraceState", "calculate_threshold", "rate_allocation",
]
