"""Typed errors. Each boundary translates them for its audience: receivers into OTLP/HTTP
status codes, the API into JSON errors, the CLI into one-line messages and exit codes."""


class SpanhouseError(Exception):
    """Base class of every error Spanhouse raises on purpose."""


class InvalidInput(SpanhouseError):
    """The sender's payload cannot be decoded (permanent: HTTP 400, gRPC INVALID_ARGUMENT)."""


class PayloadTooLarge(SpanhouseError):
    """The body exceeds the configured limit (HTTP 413, gRPC RESOURCE_EXHAUSTED)."""


class UnsupportedMediaType(SpanhouseError):
    """Content type not accepted (HTTP 415)."""


class Overloaded(SpanhouseError):
    """A bounded queue is full: retry later (HTTP 429/503 + Retry-After, gRPC
    RESOURCE_EXHAUSTED + RetryInfo). Nothing was kept from the refused request."""

    def __init__(self, message: str, retry_after_s: float = 1.0):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreError(SpanhouseError):
    """The store failed (retryable from the sender's point of view: HTTP 503, gRPC UNAVAILABLE)."""


class ConfigError(SpanhouseError):
    """Bad configuration: one line naming the file, the key and the fix.

    ``key`` is the dotted path of the offending key inside the config document, e.g.
    ``processors.tail_sampling.policies[0].latency.threshold_ms``; the config loader adds the
    file name and the line number from it.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class NotFound(SpanhouseError):
    """A requested object (e.g. a trace id) does not exist."""
