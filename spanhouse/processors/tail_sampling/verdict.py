"""What one sampling policy answers for one trace: a ``Decision`` and its probability.

``Decision`` is upstream's ``sampling.Decision`` (``internal/sampling/policy.go``);
``probability`` is Spanhouse's addition, for adjusted counts (see ``Verdict``). Both the
policies (which answer) and ``decision.evaluate_policies`` (which combines the answers) import
this module, and it imports neither.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Decision(enum.Enum):
    """Upstream's ``sampling.Decision`` (same order, same meaning)."""

    Unspecified = 0       # not decided yet
    Pending = 1           # policy not evaluated yet
    Sampled = 2
    NotSampled = 3
    Dropped = 4           # a ``drop`` policy matched: never sampled, whatever else matched
    Error = 5             # the policy failed to evaluate
    InvertSampled = 6     # ``invert_match`` flow: sample (unless another policy says NotSampled)
    InvertNotSampled = 7  # ``invert_match`` flow: do not sample (overrides Sampled)


class Verdict(NamedTuple):
    """One policy's answer for one trace.

    ``probability`` is the chance that this policy samples a trace like this one: 1.0 for the
    deterministic policies (attribute, latency, status code, OTTL, ...); ``pct / 100`` for
    ``probabilistic``; derived from the children for ``and`` (product), ``not`` (``1 - p`` when
    the child is random, else 1), ``drop`` (product) and ``composite`` (the child that decided).
    ``rate_limiting`` and ``bytes_limiting`` report 1.0: whether they keep a trace depends on
    the traffic, not on the trace, so no per-trace probability exists (a trace kept by a rate
    limiter alone is counted as itself).
    """

    decision: Decision
    probability: float = 1.0


# The deterministic policies' answers.
SAMPLED = Verdict(Decision.Sampled)
NOT_SAMPLED = Verdict(Decision.NotSampled)
INVERT_SAMPLED = Verdict(Decision.InvertSampled)
INVERT_NOT_SAMPLED = Verdict(Decision.InvertNotSampled)
