"""What a forwarding exporter asks of its transport, and how one failed attempt is reported.

A transport (``GrpcTransport``, ``HttpTransport``) knows one wire protocol and nothing of
queues or retries: it encodes a batch once (``prepare``) and makes single attempts
(``send``). It classifies each failure as the OTLP spec says (retryable or permanent, with the
server's throttling hint), and the exporter decides what to do about it.
"""

from __future__ import annotations

from typing import Any, Protocol

from spanhouse.model.batch import SpanBatch


class SendError(Exception):
    """One failed attempt. ``retryable`` per the OTLP spec; ``throttle_s`` the server's hint."""

    def __init__(self, message: str, retryable: bool, throttle_s: float = 0.0):
        super().__init__(message)
        self.retryable = retryable
        self.throttle_s = throttle_s


class Transport(Protocol):
    def open(self) -> None:
        """Create the client (channel, connection pool); called by the exporter's ``start``."""

    def close(self) -> None: ...

    def prepare(self, batch: SpanBatch) -> Any:
        """The payload to send, made once per batch (not once per attempt)."""

    def send(self, payload: Any, timeout_s: float) -> tuple[int, str]:
        """One attempt. Returns (rejected spans, error message) from a partial success, or
        raises ``SendError``."""
