"""What every receiver does with a decoded request: count it and hand it to the pipeline.

Decoding and pipeline work are CPU-bound Python, so receivers run them on a small thread pool
(``Ingest.run``) and the event loop stays free to accept connections and answer health checks.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from spanhouse.errors import Overloaded
from spanhouse.model.batch import DecodeResult
from spanhouse.pipeline import Pipeline
from spanhouse.telemetry import Telemetry

T = TypeVar("T")


class Ingest:
    def __init__(self, pipeline: Pipeline, telemetry: Telemetry, workers: int = 2):
        self.pipeline = pipeline
        self.telemetry = telemetry
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spanhouse-ingest")

    async def run(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def accept(self, receiver: str, result: DecodeResult) -> DecodeResult:
        """Hand the valid spans to the pipeline. Raises ``Overloaded`` having kept nothing."""
        tel = self.telemetry
        n = len(result.batch)
        if result.rejected:
            tel.spans_rejected.labels(receiver).inc(result.rejected)
        try:
            self.pipeline.consume(result.batch)
        except Overloaded:
            self.refused(receiver, "overloaded", n)
            raise
        tel.spans_received.labels(receiver).inc(n)
        return result

    def refused(self, receiver: str, reason: str, spans: int = 0) -> None:
        self.telemetry.requests_refused.labels(receiver, reason).inc()
        if spans:
            self.telemetry.spans_refused.labels(receiver, reason).inc(spans)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)
