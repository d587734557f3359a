"""What a compiled condition is evaluated on: one span, or one span event, of a ``SpanBatch``.

Upstream's ``ottlspan`` and ``ottlspanevent`` contexts hand a condition pdata objects; here a
context is a position in the batch columns, ``(batch, span row, event index)`` with event index
-1 in the span context, so evaluating a condition allocates nothing per span.
"""

from __future__ import annotations

from typing import Any, Callable

from spanhouse.model.batch import SpanBatch

# (batch, span row, event index or -1)
Ctx = tuple[SpanBatch, int, int]
Getter = Callable[[Ctx], Any]
BoolExpr = Callable[[Ctx], bool]


