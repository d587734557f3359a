"""What a failed store write means: retry later (TRANSIENT) or blame the rows (DATA).

``classify(exc)`` reads an exception raised by ``TraceWriter.write`` (a ``StoreError`` whose
``__cause__`` chain holds the driver's error, or ``InvalidInput`` for a batch that cannot be
converted). It walks the ``__cause__`` chain (not ``__context__``) and looks, in order, at:

1. ClickHouse error codes: clickhouse-connect's ``Error.code`` (set for HTTP and chDB alike),
   else ``Code: NNN`` in a message (chDB's ``ChdbError``/``RuntimeError`` carry the server's
   ``Code: NNN. DB::Exception: ... (NAME)`` text). A code in ``TRANSIENT_CODES`` wins over one
   in ``DATA_CODES``.
2. "No space" anywhere (``is_no_space``): TRANSIENT.
3. Transport errors without a code: ``OSError`` (``ConnectionRefusedError``, ``TimeoutError``,
   ...), urllib3 errors, clickhouse-connect's ``OperationalError``, an HTTP 429/502/503/504
   status from a proxy: TRANSIENT.
4. ``InvalidInput`` (conversion) and clickhouse-connect's ``DataError``: DATA.
5. Anything else is UNKNOWN: the caller may isolate it (``isolate.write_isolating``), which
   treats it as DATA only once some other part of the same batch was written.

TRANSIENT also covers store problems that are no span's fault and need an operator (missing
table, authentication, access rights): the rows are kept and retried, never dead-lettered.
"""

from __future__ import annotations

import enum
import errno
import re

from spanhouse.errors import InvalidInput, StoreError

# Retry later: the store is unreachable, overloaded, out of resources, shutting down,
# read-only, or misconfigured. Nothing here depends on the rows.
TRANSIENT_CODES: dict[int, str] = {
    16: "NO_SUCH_COLUMN_IN_TABLE", 60: "UNKNOWN_TABLE", 81: "UNKNOWN_DATABASE",
    24: "CANNOT_WRITE_TO_OSTREAM", 95: "CANNOT_READ_FROM_SOCKET", 96: "CANNOT_WRITE_TO_SOCKET",
    159: "TIMEOUT_EXCEEDED", 160: "TOO_SLOW", 164: "READONLY", 173: "CANNOT_ALLOCATE_MEMORY",
    201: "QUOTA_EXCEEDED", 202: "TOO_MANY_SIMULTANEOUS_QUERIES", 203: "NO_FREE_CONNECTION",
    209: "SOCKET_TIMEOUT", 210: "NETWORK_ERROR", 218: "TABLE_IS_DROPPED", 225: "NO_ZOOKEEPER",
    236: "ABORTED", 241: "MEMORY_LIMIT_EXCEEDED", 242: "TABLE_IS_READ_ONLY",
    243: "NOT_ENOUGH_SPACE", 244: "UNEXPECTED_ZOOKEEPER_ERROR", 252: "TOO_MANY_PARTS",
    254: "NO_ACTIVE_REPLICAS", 279: "ALL_CONNECTION_TRIES_FAILED", 285: "TOO_FEW_LIVE_REPLICAS",
    286: "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE", 291: "DATABASE_ACCESS_DENIED",
    294: "CANNOT_WRITE_TO_FILE", 319: "UNKNOWN_STATUS_OF_INSERT",
    364: "RECEIVED_ERROR_TOO_MANY_REQUESTS", 373: "SESSION_IS_LOCKED", 394: "QUERY_WAS_CANCELLED",
    415: "ALL_REPLICAS_LOST", 439: "CANNOT_SCHEDULE_TASK", 473: "DEADLOCK_AVOIDED",
    497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED", 565: "TOO_MANY_PARTITIONS",
    574: "DISTRIBUTED_TOO_MANY_PENDING_BYTES", 700: "USER_SESSION_LIMIT_EXCEEDED",
    735: "QUERY_WAS_CANCELLED_BY_CLIENT", 749: "TCP_CONNECTION_LIMIT_REACHED",
    762: "HTTP_CONNECTION_LIMIT_REACHED", 774: "TABLE_IS_PERMANENTLY_READ_ONLY",
    776: "RESOURCE_LIMIT_EXCEEDED", 777: "MEMORY_RESERVATION_KILLED",
    778: "MEMORY_RESERVATION_FAILED", 999: "KEEPER_EXCEPTION",
    1017: "ASYNC_INSERT_FLUSH_TIMEOUT", 1019: "QUERY_SLOT_ACQUISITION_TIMEOUT",
    1020: "MEMORY_RESERVATION_ACQUISITION_TIMEOUT",
}

# Something in the rows: a value the table cannot take. Retrying the same rows fails again.
DATA_CODES: dict[int, str] = {
    6: "CANNOT_PARSE_TEXT", 25: "CANNOT_PARSE_ESCAPE_SEQUENCE", 26: "CANNOT_PARSE_QUOTED_STRING",
    27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", 38: "CANNOT_PARSE_DATE",
    41: "CANNOT_PARSE_DATETIME", 53: "TYPE_MISMATCH", 69: "ARGUMENT_OUT_OF_BOUND",
    70: "CANNOT_CONVERT_TYPE", 72: "CANNOT_PARSE_NUMBER", 117: "INCORRECT_DATA",
    128: "TOO_LARGE_ARRAY_SIZE", 131: "TOO_LARGE_STRING_SIZE", 190: "SIZES_OF_ARRAYS_DONT_MATCH",
    321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", 349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
    366: "SIZES_OF_NESTED_COLUMNS_ARE_INCONSISTENT", 376: "CANNOT_PARSE_UUID",
    395: "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", 407: "DECIMAL_OVERFLOW",
    441: "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", 467: "CANNOT_PARSE_BOOL",
    469: "VIOLATED_CONSTRAINT", 632: "UNEXPECTED_DATA_AFTER_PARSED_VALUE",
    675: "CANNOT_PARSE_IPV4", 676: "CANNOT_PARSE_IPV6",
}

NOT_ENOUGH_SPACE = 243
_NO_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_NO_SPACE_TEXT = re.compile(
    r"No space left on device|Disk quota exceeded|\bENOSPC\b|\berrno:? ?28\b|NOT_ENOUGH_SPACE",
    re.IGNORECASE)
_CODE_TEXT = re.compile(r"\bCode:\s*(\d+)")
_HTTP_STATUS = re.compile(r"HTTP status (429|502|503|504)\b")


class Failure(enum.Enum):
    TRANSIENT = "transient"  # retry the same rows later, with backoff
    DATA = "data"            # the rows are bad: isolate them, dead-letter the bad spans
    UNKNOWN = "unknown"      # neither is known: isolate, but trust it only if a part succeeds


class TransientStoreError(StoreError):
    """The store failed for a reason that is not the rows': retry later, with backoff.

    ``no_space`` is True when the store (or the dead-letter disk) is out of space: the caller
    should also split its INSERTs. ``remaining`` lists the row ranges ``(start, stop)`` of the
    batch that was being written which are neither written nor dead-lettered: retrying exactly
    those (``unwritten(batch)``) stores no span twice. ``None`` means unknown: the whole batch.
    ``written``/``dead`` count the spans stored / dead-lettered before the failure.
    ``refused`` is True when the store answered but refused every part tried (no part written):
    a store problem, or a batch made only of bad spans (see ``isolate.write_isolating``).
    """

    def __init__(self, message: str, *, no_space: bool = False,
                 remaining: list[tuple[int, int]] | None = None, written: int = 0,
                 dead: int = 0, refused: bool = False):
        super().__init__(message)
        self.no_space = no_space
        self.remaining = remaining
        self.written = written
        self.dead = dead
        self.refused = refused

    def unwritten(self, batch):
        """The spans of ``batch`` still to write (``batch`` itself when all are)."""
        if self.remaining is None or self.remaining == [(0, len(batch))]:
            return batch
        return batch.take([i for lo, hi in self.remaining for i in range(lo, hi)])


def _chain(exc: BaseException):
    """``exc`` and its explicit causes (``raise ... from``). ``__context__`` is not followed:
    it is whatever was being handled when ``exc`` was raised (e.g. the caller's previous
    ``TransientStoreError`` around a retry), not what caused it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__


def error_codes(exc: BaseException) -> list[int]:
    """The ClickHouse error codes found along ``exc``'s chain, outermost first."""
    codes = []
    for e in _chain(exc):
        code = getattr(e, "code", None)
        if isinstance(code, int) and not isinstance(code, bool):
            codes.append(code)
        codes.extend(int(m) for m in _CODE_TEXT.findall(str(e)))
    return codes


def is_no_space(exc: BaseException) -> bool:
    """True when ``exc`` says a disk is full: NOT_ENOUGH_SPACE (243), an ``OSError`` with
    ENOSPC/EDQUOT, or their texts (e.g. CANNOT_WRITE_TO_FILE_DESCRIPTOR "... errno: 28, strerror:
    No space left on device")."""
    for e in _chain(exc):
        if getattr(e, "code", None) == NOT_ENOUGH_SPACE:
            return True
        if isinstance(e, OSError) and e.errno in _NO_SPACE_ERRNOS:
            return True
        if _NO_SPACE_TEXT.search(str(e)):
            return True
    return False


def _is_transport(e: BaseException) -> bool:
    if isinstance(e, (OSError, TransientStoreError)):  # ConnectionError, TimeoutError, socket
        return True
    module = type(e).__module__
    if module.startswith("urllib3"):
        return True
    if module.startswith("clickhouse_connect") and type(e).__name__ == "OperationalError":
        return getattr(e, "code", None) is None  # a transport failure, not a server answer
    return bool(_HTTP_STATUS.search(str(e)))


def classify(exc: BaseException) -> Failure:
    """TRANSIENT, DATA or UNKNOWN for an exception of ``TraceWriter.write`` (see the module)."""
    if isinstance(exc, TransientStoreError):  # already decided, whatever its cause says
        return Failure.TRANSIENT
    codes = error_codes(exc)
    if any(c in TRANSIENT_CODES for c in codes):
        return Failure.TRANSIENT
    if any(c in DATA_CODES for c in codes):
        return Failure.DATA
    if is_no_space(exc):
        return Failure.TRANSIENT
    chain = list(_chain(exc))
    if any(_is_transport(e) for e in chain):
        return Failure.TRANSIENT
    for e in chain:
        if isinstance(e, InvalidInput):
            return Failure.DATA
        if type(e).__module__.startswith("clickhouse_connect") and type(e).__name__ == "DataError":
            return Failure.DATA
    return Failure.UNKNOWN


def describe(exc: BaseException) -> str:
    """A short label for logs: ``NAME (code)`` of the first known code, else the type name."""
    for c in error_codes(exc):
        name = TRANSIENT_CODES.get(c) or DATA_CODES.get(c)
        if name:
            return f"{name} ({c})"
    return type(exc).__name__


__all__ = ["Failure", "TransientStoreError", "TRANSIENT_CODES", "DATA_CODES", "classify",
           "is_no_space", "error_codes", "describe", "NOT_ENOUGH_SPACE"]
