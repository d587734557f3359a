"""The ``tail_sampling`` processor's sampling policies (a port of the OTel Collector's
``processor/tailsamplingprocessor/internal/sampling``), one module per policy type, with the
related families together (``attributes``, ``limits``, ``combinators``); ``base`` is what they
share. Build them from config with ``spanhouse.processors.tail_sampling.registry.build_policies``."""

from spanhouse.processors.tail_sampling.policies.always_sample import AlwaysSample
from spanhouse.processors.tail_sampling.policies.attributes import (
    BooleanAttribute, NumericAttribute, StringAttribute, TraceState,
)
from spanhouse.processors.tail_sampling.policies.base import Policy, PolicyError
from spanhouse.processors.tail_sampling.policies.combinators import (
    And, Composite, Drop, Not, rate_allocation,
)
from spanhouse.processors.tail_sampling.policies.latency import Latency
from spanhouse.processors.tail_sampling.policies.limits import BytesLimiting, RateLimiting, TokenBucket
from spanhouse.processors.tail_sampling.policies.ottl import OTTLCondition
from spanhouse.processors.tail_sampling.policies.probabilistic import Probabilistic, calculate_threshold
from spanhouse.processors.tail_sampling.policies.span_count import SpanCount
from spanhouse.processors.tail_sampling.policies.status_code import StatusCode
from spanhouse.processors.tail_sampling.policies.trace_flags import TraceFlags

__all__ = [
    "AlwaysSample", "And", "BooleanAttribute", "BytesLimiting", "Composite", "Drop", "Latency",
    "Not", "NumericAttribute", "OTTLCondition", "Policy", "PolicyError", "Probabilistic",
    "RateLimiting", "SpanCount", "StatusCode", "StringAttribute", "TokenBucket", "TraceFlags",
    "TraceState", "calculate_threshold", "rate_allocation",
]
