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


class QueryTimeout(StoreError):
    """The store stopped a read at its ``max_execution_time`` (HTTP 503: narrow the query; a
    retry of the same query would time out again, so no ``Retry-After``)."""


class QueryBusy(Overloaded):
    """Every query slot of the server is taken (``max_concurrent_queries``): the query was not
    started. The query APIs answer 503 + ``Retry-After`` (the receivers keep 429 for
    ``Overloaded``: a query is not a sender's batch, and 503 is what HTTP clients retry)."""


class Unauthenticated(SpanhouseError):
    """The request carries no valid credentials (HTTP 401, gRPC UNAUTHENTICATED). The message
    never holds the credentials that were sent."""


class ConfigError(SpanhouseError):
    """Bad configuration: one line naming the file, the key and the fix.

    ``key`` is the dotted path of the offending key inside the config document, e.g.
    ``processors.tail_sampling.policies[0].latency.threshold_ms``. ``ConfigDocument.locate``
    finds its place in the file: ``path`` and ``line`` (None until located, or when unknown),
    and a located error's message starts with them (``FILE:LINE: KEY: problem; fix``).
    """

    def __init__(self, message: str, key: str | None = None, path: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.key = key
        self.path = path
        self.line = line


class NotFound(SpanhouseError):
    """A requested object (e.g. a trace id) does not exist."""


# ------------------------------------------------------------------ the one translation table
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class Translation:
    """What one typed error becomes at each boundary."""
    http_status: int   # the query API, the UI and the OTLP/HTTP and Zipkin receivers
    grpc_code: str     # the OTLP/gRPC receiver: the name of a ``grpc.StatusCode``
    exit_code: int     # the CLI: 2 for "you asked for something wrong", 1 otherwise


TRANSLATIONS: dict[type, Translation] = {
    InvalidInput: Translation(400, "INVALID_ARGUMENT", 2),
    ConfigError: Translation(400, "INVALID_ARGUMENT", 2),
    PayloadTooLarge: Translation(413, "RESOURCE_EXHAUSTED", 2),
    UnsupportedMediaType: Translation(415, "INVALID_ARGUMENT", 2),
    Unauthenticated: Translation(401, "UNAUTHENTICATED", 2),
    NotFound: Translation(404, "NOT_FOUND", 1),
    Overloaded: Translation(429, "RESOURCE_EXHAUSTED", 1),
    StoreError: Translation(503, "UNAVAILABLE", 1),
    # after StoreError: the CLI's client reads a 503 back as the first class with that status
    QueryTimeout: Translation(503, "DEADLINE_EXCEEDED", 1),
    QueryBusy: Translation(503, "UNAVAILABLE", 1),
}
UNEXPECTED = Translation(500, "INTERNAL", 1)
"""Anything else: a bug. Boundaries log it and answer this, never a traceback."""


def translate(exc: BaseException) -> Translation:
    """The translation of ``exc``: its own class's, else its nearest typed ancestor's."""
    for cls in type(exc).__mro__:
        if cls in TRANSLATIONS:
            return TRANSLATIONS[cls]
    return UNEXPECTED
