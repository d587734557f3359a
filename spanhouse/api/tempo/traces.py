"""A stored trace as Tempo's trace-by-id endpoints answer it.

Tempo's ``tempopb.Trace`` is OTLP's ``TracesData`` under another name (field 1, repeated
``ResourceSpans``, Tempo's vendored copy of the OTLP protos: same field numbers), and
``TraceByIDResponse`` wraps it (``trace`` = 1, ``metrics`` = 2, ``status`` = 3,
``message`` = 4). Both are written here from the OTLP/JSON that ``api/otlp_json_out`` renders,
through the OpenTelemetry protobuf classes:

- protobuf (``Accept: application/protobuf``, what Grafana's backend asks for): the message
  bytes; ``TraceByIDResponse`` is framed by hand (one length-delimited field), since Tempo's
  own message classes are not a Python package;
- JSON: gogo ``jsonpb`` as Tempo writes it: ids as *base64* (they are ``bytes`` in the proto),
  enums by name (``SPAN_KIND_SERVER``, ``STATUS_CODE_ERROR``), int64 as strings. v1 names the
  list ``batches`` (Tempo's ``MarshalToJSONV1``), v2 ``trace.resourceSpans``.

Absent trace: v1 is a 404 with an empty body (Tempo's combiner starts at 404), v2 a 200 with an
empty trace (its querier does not 404 for v2; Grafana reads "no resourceSpans" as not found).
"""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from spanhouse.api.otlp_json_out import traces_data
from spanhouse.model.span import SpanRecord

PROTOBUF = "application/protobuf"
_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _b64_ids(node) -> None:
    """OTLP/JSON's hex ids -> protobuf JSON's base64, in place (spans and their links)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                _b64_ids(value)
    elif isinstance(node, list):
        for item in node:
            _b64_ids(item)


def traces_message(spans: list[SpanRecord]) -> TracesData:
    body = traces_data([spans])
    _b64_ids(body)
    return json_format.ParseDict(body, TracesData())


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def trace_by_id_response(trace_bytes: bytes) -> bytes:
    """``TraceByIDResponse{trace: <bytes>}`` plus an empty ``metrics`` (field 2), as Tempo
    always sets it."""
    return b"\x0a" + _varint(len(trace_bytes)) + trace_bytes + b"\x12\x00"


def _json(message: TracesData) -> list:
    return json_format.MessageToDict(message).get("resourceSpans", [])


def v1_body(spans: list[SpanRecord], protobuf: bool) -> tuple[bytes, str]:
    message = traces_message(spans)
    if protobuf:
        return message.SerializeToString(), PROTOBUF
    return _dumps({"batches": _json(message)}), "application/json"


def v2_body(spans: list[SpanRecord], protobuf: bool) -> tuple[bytes, str]:
    message = traces_message(spans) if spans else TracesData()
    if protobuf:
        return trace_by_id_response(message.SerializeToString()), PROTOBUF
    trace: dict = {}
    resource_spans = _json(message)
    if resource_spans:
        trace["resourceSpans"] = resource_spans
    return _dumps({"trace": trace, "metrics": {}}), "application/json"


def _dumps(body) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def wants_protobuf(accept: str | None) -> bool:
    """Tempo's ``MarshalingFormatFromAcceptHeader``: protobuf when the header mentions it."""
    return bool(accept) and PROTOBUF in accept
