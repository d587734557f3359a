"""What every receiver does with a request: decode it, log it durably, then answer.

``submit`` decodes on a small thread pool (CPU-bound Python: the event loop stays free to
accept connections and answer health checks), appends the request's valid spans to the
write-ahead log and waits, off the loop, until the log has them on disk. Only then does the
receiver answer OK: acknowledged means stored, whatever happens to the process afterwards
(``spanhouse.wal``). The log's feeder takes it from there into the pipeline.

What is logged is one OTLP ``ExportTraceServiceRequest``: the request's own bytes when it came
as OTLP protobuf with every span valid (no copy, no re-encoding), otherwise the valid spans
encoded again (``otlp_encode``; decoding that gives the same columns).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from spanhouse.errors import Overloaded
from spanhouse.model.batch import DecodeResult
from spanhouse.model.otlp_encode import encode_bytes
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

    async def submit(self, receiver: str, decode: Callable[[bytes], DecodeResult], body: bytes,
                     raw_proto: bool = False) -> DecodeResult:
        """Decode ``body`` and make its valid spans durable. Raises ``InvalidInput`` (nothing
        kept) or ``Overloaded`` (the log is full or cannot write: nothing kept, retry)."""
        result, committed = await self.run(self._decode_and_log, receiver, decode, body, raw_proto)
        n = len(result.batch)
        if committed is not None:
            try:
                await asyncio.wrap_future(committed)
            except Overloaded:
                self.refused(receiver, "overloaded", n)
                raise
        self.telemetry.spans_received.labels(receiver).inc(n)
        return result

    def _decode_and_log(self, receiver: str, decode, body: bytes, raw_proto: bool):
        result = decode(body)
        if result.rejected:
            self.telemetry.spans_rejected.labels(receiver).inc(result.rejected)
        n = len(result.batch)
        if n == 0:
            return result, None
        payload = body if raw_proto and not result.rejected else encode_bytes(result.batch)
        try:
            return result, self.wal.append(payload, n, result.batch)
        except Overloaded:
            self.refused(receiver, "overloaded", n)
            raise

    def refused(self, receiver: str, reason: str, spans: int = 0) -> None:
        self.telemetry.requests_refused.labels(receiver, reason).inc()
        if spans:
            self.telemetry.spans_refused.labels(receiver, reason).inc(spans)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
