"""A refused request, answered alike by every receiver.

The status comes from the one translation table (``spanhouse.errors.translate``); this module
adds what only receivers need: the reason under which ``spanhouse_requests_refused`` counts the
request, and how soon a retry may succeed. Each receiver writes the answer in its protocol
(a ``google.rpc.Status`` body, plain text, a gRPC status).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spanhouse.errors import (InvalidInput, Overloaded, PayloadTooLarge, SpanhouseError,
                              StoreError, UnsupportedMediaType, translate)
from spanhouse.receivers.ingest import Ingest

# Overloaded is not here: ``Ingest`` counts it, with the refused spans that only it knows.
REASONS: dict[type, str] = {
    InvalidInput: "invalid",
    PayloadTooLarge: "too_large",
    UnsupportedMediaType: "unsupported_media_type",
    StoreError: "store_unavailable",
}
# A store failure is not over in a second: senders are told to wait this long.
STORE_RETRY_AFTER_S = 5.0


@dataclass(frozen=True)
class Refusal:
    http_status: int
    grpc_code: str                # the name of a ``grpc.StatusCode``
    message: str
    retry_after_s: float | None   # when a retry may succeed; None: not a retryable refusal

    @property
    def headers(self) -> dict[str, str] | None:
        """``Retry-After`` in whole seconds (at least 1) for a retryable refusal."""
        if self.retry_after_s is None:
            return None
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}


def refuse(ingest: Ingest, receiver: str, exc: SpanhouseError) -> Refusal:
    """Count the refused request and say how to answer it."""
    reason = next((REASONS[cls] for cls in type(exc).__mro__ if cls in REASONS), None)
    if reason is not None:
        ingest.refused(receiver, reason)
    if isinstance(exc, Overloaded):
        retry_after: float | None = exc.retry_after_s
    elif isinstance(exc, StoreError):
        retry_after = STORE_RETRY_AFTER_S
    else:
        retry_after = None
    translation = translate(exc)
    return Refusal(translation.http_status, translation.grpc_code, str(exc), retry_after)
