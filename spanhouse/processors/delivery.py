"""Handing spans that were already acknowledged to the next consumer.

Buffering processors (tail sampling, batch) emit from their own thread, after the sender got
its answer. When the next consumer pushes back (``Overloaded``), they wait and retry, which
fills their own bounded buffer and so pushes back on the receivers in turn. Only past the
shutdown deadline do they give up, and then every span given up is counted.
"""

from __future__ import annotations

import logging
import time

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_before_delay, wait_exponential

from spanhouse.errors import Overloaded
from spanhouse.model.batch import SpanBatch
from spanhouse.pipeline import Consumer

log = logging.getLogger(__name__)


def deliver(next_consumer: Consumer, batch: SpanBatch, deadline: float | None = None) -> bool:
    """Give ``batch`` to ``next_consumer``, retrying while it is overloaded, until the
    monotonic ``deadline`` (None: retry for an hour). True when it was taken."""
    budget = 3600.0 if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        for attempt in Retrying(retry=retry_if_exception_type(Overloaded),
                                wait=wait_exponential(multiplier=0.02, max=1.0),
                                stop=stop_before_delay(budget), reraise=False):
            with attempt:
                next_consumer(batch)
        return True
    except RetryError:
        log.error("gave up handing %d spans downstream: still overloaded", len(batch))
        return False
