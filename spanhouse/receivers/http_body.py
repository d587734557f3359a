"""Reading a request body safely: size limit, gzip, and a gzip bomb refused early.

The limit applies to the *decompressed* size, and decompression stops as soon as the limit is
passed, so a small compressed body that would inflate to gigabytes costs at most ``limit``
bytes of memory.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

from spanhouse.errors import InvalidInput, PayloadTooLarge

SUPPORTED_ENCODINGS = ("gzip", "identity", "")


async def read_body(request: Request, limit: int) -> bytes:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}: send gzip or no encoding")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")

    out = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    received = 0
    async for chunk in request.stream():
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
