"""What every receiver does with a request: decode it, log it durably, then answer.

``submit`` decodes on a small thread pool (CPU-bound Python: the event loop stays free to
accept connections and answer health checks), appends the request's valid spans to the
write-ahead log and waits, off the loop, until the log has them on disk. Only then does the
receiver answer OK: acknowledged means stored, whatever happens to the process afterwards
(``spanhouse.wal``). The log's feeder takes it from there into the pipeline.

What is logged is one OTLP ``ExportTraceServiceRequest``. An OTLP protobuf request is only
*checked* here (``otlp_proto.check_request``: parsed in C, each span's ids and times checked, no
attribute decoded) and logged as it came (without its rejected spans, if any); it is decoded
once, later, by the feeder. OTLP/JSON and Zipkin are decoded here and their valid spans encoded
as OTLP protobuf (``otlp_encode``; decoding that gives the same columns).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from spanhouse.errors import Overloaded
from spanhouse.model.batch import DecodeResult
from spanhouse.model.otlp_encode import encode_bytes
from spanhouse.model.otlp_proto import check_request
from spanhouse.telemetry import Telemetry
from spanhouse.wal.log import WriteAheadLog

T = TypeVar("T")


class Ingest:
    def __init__(self, wal: WriteAheadLog, telemetry: Telemetry, workers: int = 2):
        self.wal = wal
        self.telemetry = telemetry
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spanhouse-ingest")

    async def run(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def submit(self, receiver: str, decode: Callable[[bytes], DecodeResult] | None,
                     body: bytes) -> DecodeResult:
        """Check or decode ``body`` (``decode`` None: an OTLP protobuf request) and make its
        valid spans durable. Returns the rejections (its batch is empty for protobuf). Raises
        ``InvalidInput`` (nothing kept) or ``Overloaded`` (the log is full or cannot write:
        nothing kept, retry)."""
        result, n, committed = await self.run(self._check_and_log, receiver, decode, body)
        if committed is not None:
            try:
                await asyncio.wrap_future(committed)
            except Overloaded:
                self.refused(receiver, "overloaded", n)
                raise
        self.telemetry.spans_received.labels(receiver).inc(n)
        return result

    def _check_and_log(self, receiver: str, decode, body: bytes):
        if decode is None:
            payload, n, result = check_request(body)
        else:
            result = decode(body)
            n = len(result.batch)
            payload = encode_bytes(result.batch) if n else b""
        if result.rejected:
            self.telemetry.spans_rejected.labels(receiver).inc(result.rejected)
        if n == 0:
            return result, 0, None
        try:
            return result, n, self.wal.append(payload, n)
        except Overloaded:
            self.refused(receiver, "overloaded", n)
            raise

    def refused(self, receiver: str, reason: str, spans: int = 0) -> None:
        self.telemetry.requests_refused.labels(receiver, reason).inc()
        if spans:
            self.telemetry.spans_refused.labels(receiver, reason).inc(spans)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
