"""A chunk of logged OTLP protobuf requests, handed to the store as bytes.

With no processor between the receivers and the store, nothing needs the spans as Python
columns: the feeder hands the store the requests' bytes, and ClickHouse parses them itself
(``spanhouse.store.native_insert``). A ``RawChunk`` stands in for a ``SpanBatch`` on that path
(``len``, ``seq_low``, ``insert_token``), and becomes one (``take``, ``decode``) wherever the
Python path has to take over: an attribute nested too deep for the native INSERT, or rows the
store refused, which are then isolated span by span.
"""

from __future__ import annotations

from spanhouse.model.batch import SpanBatch
from spanhouse.model.otlp_proto import decode_proto_bytes


class RawChunk:
    __slots__ = ("payload", "spans", "seq_low", "insert_token", "_decoded")

    def __init__(self, payload: bytes, spans: int, seq_low: int = 0, insert_token: str = ""):
        self.payload = payload          # length-delimited ExportTraceServiceRequest messages
        self.spans = spans
        self.seq_low = seq_low
        self.insert_token = insert_token
        self._decoded: SpanBatch | None = None

    @classmethod
    def of(cls, messages: list[bytes], spans: int, seq_low: int = 0, insert_token: str = ""
           ) -> "RawChunk":
        """A chunk of serialized ``ExportTraceServiceRequest`` messages."""
        from google.protobuf.internal.encoder import _VarintBytes

        parts = []
        for message in messages:
            parts.append(_VarintBytes(len(message)))
            parts.append(message)
        return cls(b"".join(parts), spans, seq_low, insert_token)

    def __len__(self) -> int:
        return self.spans

    def decode(self) -> SpanBatch:
        """The chunk as columns (decoded once, then kept), with its seq and token."""
        if self._decoded is None:
            batches = [decode_proto_bytes(message).batch for message in _messages(self.payload)]
            batch = SpanBatch.concat(batches) if len(batches) != 1 else batches[0]
            batch.seq_low, batch.insert_token = self.seq_low, self.insert_token
            self._decoded = batch
        return self._decoded

    def take(self, rows) -> SpanBatch:
        return self.decode().take(rows)


def _messages(payload: bytes):
    """The messages of a length-delimited payload (protobuf's varint length prefix)."""
    from google.protobuf.internal.decoder import _DecodeVarint

    pos, end = 0, len(payload)
    view = memoryview(payload)
    while pos < end:
        size, pos = _DecodeVarint(payload, pos)
        yield bytes(view[pos:pos + size])
        pos += size
