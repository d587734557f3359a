"""The write-ahead log's on-disk format: segment files of checksummed records.

A segment is ``DIR/wal/<first seq, 20 digits>.seg``, a sequence of records::

    u32 payload length | u32 crc32(header tail + payload) | u8 kind | u64 seq | u32 spans | payload

little-endian, 21 bytes of header. Kinds:

- ``DATA``: an acknowledged request's valid spans as one OTLP ``ExportTraceServiceRequest``
  (protobuf), whatever protocol they came in by. ``seq`` numbers data records 1, 2, 3, ...;
  ``spans`` is the span count, so chunks can be planned without decoding.
- ``SEAL``: payload ``u64 first, u64 last``: data records first..last were cut into one INSERT
  chunk (deduplication token ``<log id>:<first>-<last>``). Written durably before the chunk is
  inserted, so a replay rebuilds exactly the same chunk and ClickHouse drops a repeat.
- ``RELEASED``: payload ``u64 seq``: every data record up to ``seq`` is fully handled (stored,
  sampled away or dead-lettered); a replay starts after it.

A crash can leave a torn record at the end of the newest segment; reading stops at the first
record whose length or checksum does not hold, and the writer truncates the file there.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

HEADER = struct.Struct("<IIBQI")
HEADER_SIZE = HEADER.size
_TAIL = struct.Struct("<BQI")  # the checksummed part of the header
DATA, SEAL, RELEASED = 1, 2, 3
SEAL_PAYLOAD = struct.Struct("<QQ")
RELEASED_PAYLOAD = struct.Struct("<Q")
SUFFIX = ".seg"


def encode(kind: int, seq: int, spans: int, payload: bytes) -> bytes:
    """Header of one record (the payload is written after it, not copied in)."""
    crc = zlib.crc32(payload, zlib.crc32(_TAIL.pack(kind, seq, spans)))
    return HEADER.pack(len(payload), crc, kind, seq, spans)


@dataclass(frozen=True, slots=True)
class Record:
    kind: int
    seq: int
    spans: int
    offset: int      # of the payload, in its segment
    length: int      # of the payload
    payload: bytes | None = None


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SUFFIX}"


def list_segments(directory: str) -> list[str]:
    """Segment paths, oldest first."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, n) for n in names]


def read_records(stream: BinaryIO, keep_payload_of: tuple[int, ...] = (SEAL, RELEASED)
                 ) -> Iterator[Record]:
    """Every intact record of a segment, in order; stops at the first torn or corrupt one.
    Payloads of the kinds in ``keep_payload_of`` are returned, others only located (a data
    payload is read back later, when it is needed)."""
    offset = 0
    while True:
        header = stream.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            return
        length, crc, kind, seq, spans = HEADER.unpack(header)
        payload = stream.read(length)
        if len(payload) < length or kind not in (DATA, SEAL, RELEASED):
            return
        if zlib.crc32(payload, zlib.crc32(_TAIL.pack(kind, seq, spans))) != crc:
            return
        yield Record(kind, seq, spans, offset + HEADER_SIZE, length,
                     payload if kind in keep_payload_of else None)
        offset += HEADER_SIZE + length


def valid_length(path: str) -> int:
    """Bytes of ``path`` up to the end of its last intact record."""
    end = 0
    with open(path, "rb") as stream:
        for record in read_records(stream, keep_payload_of=()):
            end = record.offset + record.length
    return end


def read_payload(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as stream:
        stream.seek(offset)
        return stream.read(length)
