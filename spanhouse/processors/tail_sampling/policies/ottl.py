"""``ottl_condition``: sample the traces with a span, or a span event, matching OTTL conditions.

Upstream (``internal/sampling/ottl.go``) compiles ``span`` conditions in the ``ottlspan``
context and ``spanevent`` conditions in the ``ottlspanevent`` context; a trace is sampled by
the first span for which any span condition is true, or by the first event of that span for
which any span-event condition is true. ``error_mode`` (``propagate`` by default, ``ignore``,
``silent``) decides what an evaluation error does: ``propagate`` makes the policy fail (an
``Error`` decision), ``ignore``/``silent`` count the condition as false and go on.

The language itself is ``spanhouse.ottl`` (a documented subset, ``docs/ottl.md``); a condition
outside it is a ``ConfigError`` naming the key and the construct when the config is loaded,
never silently evaluated as false.
"""

from __future__ import annotations

import logging

from spanhouse.errors import ConfigError
from spanhouse.ottl import BoolExpr, Ctx, OTTLRuntimeError, OTTLUnsupported, compile_condition
from spanhouse.processors.tail_sampling.policies.base import PolicyError
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import NOT_SAMPLED, SAMPLED, Verdict

log = logging.getLogger(__name__)

ERROR_MODES = ("propagate", "ignore", "silent")


class OTTLCondition:
    def __init__(self, name: str, span: list[BoolExpr], spanevent: list[BoolExpr],
                 error_mode: str = "propagate", sources: tuple[list[str], list[str]] = ([], [])):
        self.name = name
        self.span = span
        self.spanevent = spanevent
        self.error_mode = error_mode
        self.sources = sources

    def _any(self, conditions: list[BoolExpr], ctx: Ctx, sources: list[str]) -> bool:
        for i, cond in enumerate(conditions):
            try:
                if cond(ctx):
                    return True
            except (OTTLRuntimeError, ArithmeticError, TypeError, ValueError) as exc:
                if self.error_mode == "propagate":
                    raise PolicyError(f"{self.name}: OTTL condition failed: {exc}") from exc
                if self.error_mode == "ignore":
                    where = sources[i] if i < len(sources) else f"#{i}"
                    log.warning("policy %s: OTTL condition %s failed: %s", self.name, where, exc)
        return False

    def evaluate(self, trace: TraceView) -> Verdict:
        span, spanevent = self.span, self.spanevent
        span_src, event_src = self.sources
        for batch, rows in trace.parts:
            ev_offsets = batch.event_offsets
            for row in rows:
                if span and self._any(span, (batch, row, -1), span_src):
                    return SAMPLED
                if spanevent:
                    for ev in range(ev_offsets[row], ev_offsets[row + 1]):
                        if self._any(spanevent, (batch, row, ev), event_src):
                            return SAMPLED
        return NOT_SAMPLED


def build_ottl_condition(name: str, span: list[str], spanevent: list[str], error_mode: str,
                         key: str) -> OTTLCondition:
    """Compile the conditions, turning any refusal into a ConfigError at
    ``key.span[i]`` / ``key.spanevent[i]``."""
    compiled: dict[str, list[BoolExpr]] = {"span": [], "spanevent": []}
    for field, sources in (("span", span), ("spanevent", spanevent)):
        for i, source in enumerate(sources):
            try:
                compiled[field].append(compile_condition(source, field))
            except OTTLUnsupported as exc:
                raise ConfigError(f"unsupported OTTL condition {source!r}: {exc} "
                                  f"(see docs/ottl.md)", f"{key}.{field}[{i}]") from None
    return OTTLCondition(name, compiled["span"], compiled["spanevent"], error_mode or "propagate",
                         (list(span), list(spanevent)))
