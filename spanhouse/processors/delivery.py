"""Handing spans that were already acknowledged to the next consumer.

Buffering processors (tail sampling, batch) emit from their own thread, after the sender got
its answer. When the next consumer pushes back (``Overloaded``), they wait and retry, which
fills their own bounded buffer and so pushes back on the receivers in turn. Only past the
shutdown deadline do they give up, and then every span given up is counted.
"""

from __future__ import annotations

import logging
import time

from spanhouse.component import Consumer
from spanhouse.errors import Overloaded
from spanhouse.exporters.sending_queue import RetryPolicy
from spanhouse.model.batch import SpanBatch

log = logging.getLogger(__name__)


def deliver(next_consumer: Consumer, batch: SpanBatch, deadline: float | None = None) -> bool:
    """Give ``batch`` to ``next_consumer``, retrying while it is overloaded (waits of 20 ms
    doubling to 1 s), until the monotonic ``deadline`` (None: retry for an hour). True when
    it was taken."""
    budget = 3600.0 if deadline is None else max(0.0, deadline - time.monotonic())
    # max_elapsed_time 0 would mean forever: a spent budget allows one attempt only.
    policy = RetryPolicy(initial_interval=0.02, randomization_factor=0, multiplier=2,
                         max_interval=1.0, max_elapsed_time=max(budget, 1e-6))
    try:
        policy.run(lambda: next_consumer(batch), lambda e: isinstance(e, Overloaded))
        return True
    except Overloaded:
        log.error("gave up handing %d spans downstream: still overloaded", len(batch))
        return False
