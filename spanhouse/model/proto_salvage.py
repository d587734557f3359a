"""An OTLP protobuf request the parser refused for its depth: keep the spans that parse.

The protobuf parser (upb) refuses a message nested more than ``PROTOBUF_MAX_DEPTH`` deep, and
refuses it whole: one span with an attribute value of 50 nested arrays would lose every other
span of the request. ``salvage`` walks the request's outer wire format by hand (request ->
``ResourceSpans`` -> ``ScopeSpans`` -> ``Span``, lengths only, no recursion) and parses each
resource, scope and span *at its own depth in a request* (wrapped in the same envelope, so
what passes here passes again when the rebuilt request is parsed by the write-ahead log's
feeder or a collector). What does not parse is rejected alone; the rest is rebuilt into a
request. When the outer framing itself is broken there is nothing to salvage: ``None``.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanhouse.model.limits import PROTOBUF_MAX_DEPTH, quoted

# field numbers: ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans,
# ScopeSpans.spans, Span.name
_RESOURCE_SPANS, _SCOPE_SPANS, _SPANS, _NAME = 1, 2, 2, 5
_LEN = 2  # the length-delimited wire type


class _Broken(ValueError):
    """The wire framing is broken: lengths or tags that do not add up."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Broken("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Broken("varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(buf: bytes):
    """Each top-level field of ``buf``: (number, wire type, its raw bytes, payload or None)."""
    pos, end = 0, len(buf)
    while pos < end:
        start = pos
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        payload = None
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == _LEN:
            length, pos = _varint(buf, pos)
            payload = buf[pos:pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:  # groups (3, 4) are not in OTLP
            raise _Broken(f"wire type {wire}")
        if number == 0 or pos > end:
            raise _Broken("truncated field")
        yield number, wire, buf[start:pos], payload


def _ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _split(message: bytes, number: int) -> tuple[bytes, list[bytes]]:
    """``message`` without its repeated message field ``number`` (the shell), and that field's
    payloads."""
    shell, inner = [], []
    for n, wire, raw, payload in _fields(message):
        if n == number and wire == _LEN:
            inner.append(payload)
        else:
            shell.append(raw)
    return b"".join(shell), inner


def _problem(request: bytes) -> str:
    """Why ``request`` (one part wrapped in a request envelope) does not parse; "" if it does."""
    try:
        ExportTraceServiceRequest().ParseFromString(request)
    except (DecodeError, ValueError, RuntimeError) as exc:
        if "depth" in str(exc).lower():
            return f"nested more than {PROTOBUF_MAX_DEPTH} messages deep"
        return f"not a valid protobuf message ({exc})"
    return ""


def _label(span: bytes) -> str:
    try:
        for number, wire, _, payload in _fields(span):
            if number == _NAME and wire == _LEN:
                return f"span {quoted(payload.decode('utf-8', 'replace'))}"
    except _Broken:
        pass
    return "span"


def salvage(body: bytes) -> tuple[bytes, list[str]] | None:
    """The request without the parts the parser refuses, and one message per rejected span;
    ``None`` when the request's framing is broken."""
    try:
        return _salvage(body)
    except _Broken:
        return None


def _salvage(body: bytes) -> tuple[bytes, list[str]]:
    rejected: list[str] = []
    kept_rs = []
    for number, wire, _, rs in _fields(body):
        if number != _RESOURCE_SPANS or wire != _LEN:
            continue  # an unknown field: the parser ignores it, so may we
        rs_shell, scopes = _split(rs, _SCOPE_SPANS)
        parts = [(scope, *_split(scope, _SPANS)) for scope in scopes]
        problem = _problem(_ld(_RESOURCE_SPANS, rs_shell))
        if problem:
            rejected += [f"{_label(span)} rejected: its resource is {problem}"
                         for _, _, spans in parts for span in spans]
            continue
        kept_ss = []
        for _, ss_shell, spans in parts:
            problem = _problem(_ld(_RESOURCE_SPANS, _ld(_SCOPE_SPANS, ss_shell)))
            if problem:
                rejected += [f"{_label(span)} rejected: its scope is {problem}" for span in spans]
                continue
            good = []
            for span in spans:
                problem = _problem(_ld(_RESOURCE_SPANS, _ld(_SCOPE_SPANS, _ld(_SPANS, span))))
                if problem:
                    rejected.append(f"{_label(span)} rejected: {problem}")
                else:
                    good.append(_ld(_SPANS, span))
            kept_ss.append(ss_shell + b"".join(good))
        kept_rs.append(rs_shell + b"".join(_ld(_SCOPE_SPANS, ss) for ss in kept_ss))
    return b"".join(_ld(_RESOURCE_SPANS, rs) for rs in kept_rs), rejected
