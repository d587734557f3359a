"""Write a batch so that one bad span never blocks the others: isolate it by bisection.

``write_isolating(write, batch, on_dead)`` tries the whole batch in one INSERT. When the store
refuses it because of the rows (``failures.classify``: DATA, or UNKNOWN), the batch is split in
halves and each half written the same way, down to single spans; a single span the store still
refuses (not transiently) is handed to ``on_dead`` (e.g. ``DeadLetterFile.append``).

Guards against blaming the spans for a store problem:

- a TRANSIENT failure, at any depth, stops at once and raises ``TransientStoreError``;
- bad spans found before any part of the batch was written are held back, not dead-lettered:
  if no part at all succeeds (every span "bad", or the insert budget spent first), nothing is
  dead-lettered and ``TransientStoreError`` is raised instead, with ``refused=True``.

That last rule cannot tell a store that refuses every row (a CHECK gone wrong, a changed
column type) from a batch made only of bad spans (one client's lone bad span on a quiet
server, or a retried remainder). So it must not hold forever: once the same rows came back
``refused`` for long enough (the caller's policy: attempts, minutes), the caller passes
``trust_refusals=True`` and single spans refused (DATA or UNKNOWN) are dead-lettered even
though nothing succeeded.

Retry safety: ``TransientStoreError.remaining`` lists the row ranges neither written nor
dead-lettered, so ``err.unwritten(batch)`` is exactly what to retry (no span is stored twice,
none is lost). Nothing is retried in here: backoff is the caller's.

Cost: with ``k`` bad spans among ``n``, at most ``1 + 2k*ceil(log2 n)`` INSERTs, i.e.
O(k log n) (a half whose sibling succeeded is known to fail and is split without trying it).
``max_inserts`` bounds one call; past it the rest is raised as transient ``remaining``. Each
successful part is one INSERT, so one MergeTree part: keep ``k`` small relative to the table's
``parts_to_delay_insert``.

Thread-safety: none needed; the function keeps no state. ``write`` and ``on_dead`` are called
from the calling thread only (``TraceWriter`` is thread-confined: call this from its thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from spanhouse.model.batch import SpanBatch
from spanhouse.store.failures import Failure, TransientStoreError, classify, is_no_space

log = logging.getLogger(__name__)

MAX_ERROR_TEXT = 1024


@dataclass(frozen=True, slots=True)
class IsolationResult:
    written: int   # spans stored
    dead: int      # spans handed to on_dead
    inserts: int   # calls of ``write``


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def write_isolating(
    write: Callable[[SpanBatch], object],
    batch: SpanBatch,
    on_dead: Callable[[SpanBatch, str], object],
    *,
    classify_error: Callable[[BaseException], Failure] = classify,
    max_inserts: int = 256,
    trust_refusals: bool = False,
) -> IsolationResult:
    """Write ``batch`` with ``write``; dead-letter only the spans the store refuses alone.

    Returns when every span is either written (durably, per ``write``'s contract) or has been
    passed to ``on_dead`` (which must be durable on return). Raises ``TransientStoreError``
    (``no_space``, ``remaining``, ``written``, ``dead``) for a store problem, for a batch of
    which no part could be written (unless ``trust_refusals``), or when ``max_inserts`` is
    spent. If ``on_dead`` raises, that span stays in ``remaining`` and ``TransientStoreError``
    is raised from its error.
    """
    n = len(batch)
    if n == 0:
        return IsolationResult(0, 0, 0)
    # Stack of (start, stop, known_to_fail); the left half is on top, so rows go in order.
    stack: list[tuple[int, int, bool]] = [(0, n, False)]
    held: list[tuple[int, str]] = []     # bad single spans found before any success
    written = dead = inserts = 0
    last: BaseException | None = None    # the last refusal, the cause of a "refused" error

    def fail(message: str, cause: BaseException | None, current: list[tuple[int, int]],
             refused: bool = False):
        remaining = current + [(lo, hi) for lo, hi, _ in stack] + [(i, i + 1) for i, _ in held]
        err = TransientStoreError(
            message, no_space=cause is not None and is_no_space(cause),
            remaining=_merge(remaining), written=written, dead=dead, refused=refused)
        raise err from cause

    def bury(row: int, text: str) -> None:
        nonlocal dead
        try:
            on_dead(batch.take([row]), text)
        except Exception as exc:
            fail(f"cannot dead-letter span {batch.span_id[row]}: {exc}", exc, [(row, row + 1)])
        dead += 1

    while stack:
        lo, hi, known_to_fail = stack.pop()
        if known_to_fail and hi - lo > 1:
            mid = (lo + hi) // 2
            stack += [(mid, hi, False), (lo, mid, False)]
            continue
        if inserts >= max_inserts:
            fail(f"isolation stopped after {inserts} inserts ({written} of {n} spans written)",
                 last, [(lo, hi)], refused=not written)
        inserts += 1
        try:
            write(batch if (lo, hi) == (0, n) else batch.take(range(lo, hi)))
        except Exception as exc:
            if classify_error(exc) is Failure.TRANSIENT:
                fail(f"store unavailable: {exc}", exc, [(lo, hi)])
            last = exc
            if stack and stack[-1][0] == hi:  # the next part (our sibling): no longer known
                stack[-1] = (hi, stack[-1][1], False)
            if hi - lo > 1:
                mid = (lo + hi) // 2
                # The right half is known to fail if the left half is written in one piece.
                stack += [(mid, hi, True), (lo, mid, False)]
                continue
            text = str(exc)[:MAX_ERROR_TEXT]
            if written or trust_refusals:
                bury(lo, text)
            else:
                held.append((lo, text))
            continue
        written += hi - lo
        while held:
            row, text = held.pop(0)
            bury(row, text)
    if held:
        fail(f"the store refused every part of the {n}-span batch: treated as a store "
             f"problem: {last}", last, [], refused=True)
    if dead:
        log.warning("stored %d of %d spans; %d bad spans dead-lettered (%d inserts)",
                    written, n, dead, inserts)
    return IsolationResult(written, dead, inserts)


__all__ = ["IsolationResult", "write_isolating"]
