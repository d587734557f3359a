"""Reading a request body safely: size limit, gzip, a gzip bomb refused early, and time.

The limit applies to the *decompressed* size, and decompression stops as soon as the limit is
passed, so a small compressed body that would inflate to gigabytes costs at most ``limit``
bytes of memory.

Time: a body must arrive within ``BODY_TIMEOUT_S`` of the request head, with no gap longer than
``BODY_GAP_TIMEOUT_S`` between two chunks; a body shorter than its Content-Length, or trickled,
is answered 400 then, not waited for (the collector's ``read_timeout`` bounds the whole request
the same way). The listener (``spanhouse.listeners``) closes the connection if the client still
owes body bytes after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib

from starlette.requests import Request

from spanhouse.errors import InvalidInput, PayloadTooLarge

SUPPORTED_ENCODINGS = ("gzip", "identity", "")
BODY_TIMEOUT_S = 60.0
"""The whole body, from the moment the handler starts reading it."""
BODY_GAP_TIMEOUT_S = 10.0
"""The longest silence between two chunks of the body."""


async def _chunks(request: Request, timeout: float, gap_timeout: float):
    """The body's chunks, each awaited no longer than the gap or the time left."""
    deadline = time.monotonic() + timeout
    stream = request.stream().__aiter__()
    received = 0
    while True:
        wait = min(gap_timeout, deadline - time.monotonic())
        try:
            if wait <= 0:
                raise TimeoutError
            async with asyncio.timeout(wait):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            declared = request.headers.get("content-length")
            got = f"{received} of {declared} bytes" if declared else f"{received} bytes"
            why = (f"not complete after {timeout:g}s" if time.monotonic() >= deadline
                   else f"nothing more for {gap_timeout:g}s")
            raise InvalidInput(f"request body too slow: {got} came, then {why}") from None
        received += len(chunk)
        yield chunk


async def read_body(request: Request, limit: int, *, timeout: float = BODY_TIMEOUT_S,
                    gap_timeout: float = BODY_GAP_TIMEOUT_S) -> bytes:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}: send gzip or no encoding")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")

    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    received = 0
    async with contextlib.aclosing(_chunks(request, timeout, gap_timeout)) as chunks:
        async for chunk in chunks:
            if not chunk:
                continue
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
            if inflater is None:
                out += chunk
                continue
            try:
                out += inflater.decompress(chunk, limit + 1 - len(out))
            except zlib.error as exc:
                raise InvalidInput(f"body is not valid gzip: {exc}") from None
            if len(out) > limit or inflater.unconsumed_tail:
                raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
    if inflater is not None:
        try:
            out += inflater.flush()
        except zlib.error as exc:
            raise InvalidInput(f"body is not valid gzip: {exc}") from None
        if len(out) > limit:
            raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
        if not inflater.eof:
            raise InvalidInput("body is not valid gzip: truncated stream")
    return bytes(out)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
