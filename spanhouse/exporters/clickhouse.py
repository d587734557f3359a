"""The ``clickhouse`` exporter: the store's write path.

A bounded queue (counted in spans) in front of one writer thread. Batches that carry a
deduplication token (a chunk the write-ahead log cut, see ``spanhouse.wal.feeder``) are
inserted exactly as they came, so a replay after a crash repeats the same INSERT and ClickHouse
drops it; other batches (regrouped by a processor) are coalesced into larger inserts.

Failures (``spanhouse.store.failures``):

- a *transient* one (store unreachable, disk full, too many parts) is retried with
  exponential backoff, for as long as it lasts: the write-ahead log absorbs what arrives
  meanwhile and, once full, refuses senders with a retryable error. When the store has no room
  for the INSERT, it is split in halves for the next attempt;
- a *data* failure is isolated by bisection (``spanhouse.store.isolate``): the good spans are
  stored, each bad one goes to the dead-letter file under ``--data`` (counted in
  ``spanhouse_spans_dead_lettered_total``). One bad span never blocks anyone else's.

The queue is a ``SendingQueue`` (``spanhouse.exporters.sending_queue``) sized in spans with
one consumer; the retries follow its ``RetryPolicy``. Overflow policy: refuse. ``export``
raises ``Overloaded`` and keeps nothing when the queue is full; the feeder retries. ``held_seq``
tells the log what is not stored yet; on shutdown the writer stops at the deadline and whatever
it has not stored stays in the log for the next start. Thread-safety: ``export``, ``flush``,
``held_seq`` and ``shutdown`` may be called from any thread; the writer is confined to the
writer thread.

As a component (``FACTORY``): the exporter's section says which store the server opens
(``parse_store_settings``, read into ``ServeSettings``, because the queries read that store too);
building the component hands over the server's store exporter (``BuildContext.store``).
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Callable
from urllib.parse import quote

from spanhouse.component import BuildContext, Exporter, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError, StoreError
from spanhouse.exporters.sending_queue import RetryPolicy, SendingQueue
from spanhouse.model.batch import SpanBatch
from spanhouse.store.cluster import (ENGINE_NAMES, check_cluster_engine, check_cluster_name,
                                     split_engine)
from spanhouse.store.connection import client_compression
from spanhouse.store.failures import TransientStoreError
from spanhouse.store.isolate import write_isolating
from spanhouse.store.tracestore import Writer
from spanhouse.telemetry import Telemetry

log = logging.getLogger(__name__)

TRUST_REFUSALS_AFTER = 5
# table_engine.params: what a MergeTree family's parameters hold (Keeper paths, {macros},
# quoted strings, column names); never a statement's end or a comment.
_ENGINE_PARAMS = re.compile(r"^[A-Za-z0-9_'{}/., -]*$")


class StoreExporter:
    name = "clickhouse"

    def __init__(
        self,
        open_writer: Callable[[], Writer],
        telemetry: Telemetry,
        max_queue_spans: int = 200_000,
        max_insert_spans: int = 100_000,
        flush_interval_s: float = 0.2,
        retry_after_s: float = 1.0,
        dead_letter=None,
        backoff_max_s: float = 5.0,
    ):
        self._open_writer = open_writer
        self._writer: Writer | None = None  # confined to the writer thread
        self._telemetry = telemetry
        self._dead_letter = dead_letter
        self.max_queue_spans = max_queue_spans
        self.max_insert_spans = max_insert_spans
        self.flush_interval_s = flush_interval_s
        self.retry_after_s = retry_after_s
        self.backoff_max_s = backoff_max_s
        # Transient failures: exponential backoff from 0.1 s, for as long as they last.
        self.retry = RetryPolicy(initial_interval=0.1, randomization_factor=0, multiplier=2,
                                 max_interval=backoff_max_s, max_elapsed_time=0)
        self._queue = SendingQueue(
            self._send, capacity=max_queue_spans, sizer="items", num_consumers=1,
            merge=SpanBatch.concat, merge_max_size=max_insert_spans,
            can_merge=lambda batch: not batch.insert_token, linger_s=flush_interval_s,
            what="write queue", retry_after_s=retry_after_s,
            size_gauge=telemetry.queue_spans.labels(self.name),
            capacity_gauge=telemetry.queue_capacity.labels(self.name),
            thread_name="spanhouse-writer",
            on_worker_start=self._open, on_worker_stop=self._close)
        # The last write-ahead log seq replayed at start-up, when a processor regroups spans
        # (no insert tokens): a batch holding spans of a replayed record may repeat spans
        # stored before the crash, so those are looked up and left out (exactly once).
        self.replayed_through = 0
        self.last_commit = time.monotonic()
        self.last_error = ""
        self._already_stored = telemetry.counter(
            "spanhouse_spans_replay_already_stored",
            "Replayed spans (a crash's log, behind a processor) that the store already held "
            "and that were therefore not stored again.", ["exporter"])
        self._dead_counter = telemetry.counter(
            "spanhouse_spans_dead_lettered",
            "Spans the store refused for their content, isolated and written to the dead-letter "
            "file under --data instead.", ["exporter"])

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        try:
            self._queue.start()
        except Exception as exc:
            raise StoreError(f"cannot open the store: {exc}") from exc

    def export(self, batch: SpanBatch) -> None:
        if len(batch):
            self._queue.offer(batch)

    def held_seq(self) -> int | None:
        """The lowest write-ahead log seq of a span queued, being inserted or given up on at
        the shutdown deadline, or None."""
        return self._queue.held_seq()

    def flush(self, timeout: float) -> bool:
        return self._queue.flush(timeout)

    def shutdown(self, timeout: float) -> bool:
        """Insert what is queued until ``timeout``; then stop retrying. True when everything
        was stored (what was not stays in the write-ahead log)."""
        left = self._queue.shutdown(timeout, grace=10)
        if left:
            log.warning("store writer stopped with %d spans not stored (kept in the "
                        "write-ahead log for the next start)", sum(len(b) for b in left))
            return False
        return True

    @property
    def queued_spans(self) -> int:
        return self._queue.used

    # ------------------------------------------------------------------ writer thread
    def _open(self) -> None:
        self._writer = self._open_writer()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _send(self, batch: SpanBatch) -> None:
        """Store ``batch`` (its bad spans dead-lettered), retrying transient failures until
        it is done or the shutdown deadline passed (then ``Stopped``: the log keeps it)."""
        if self._may_repeat(batch):
            batch = self.retry.run(lambda: self._not_stored(batch),
                                   lambda e: isinstance(e, TransientStoreError),
                                   self._queue.stop_event)
            if not len(batch):
                return
        parts = [batch]
        refusals = 0

        def attempt() -> None:
            nonlocal refusals
            part = parts[0]
            try:
                # Rows refused one by one while nothing else got in look like a store fault,
                # so they are retried; refused again and again, they are the rows' fault.
                outcome = write_isolating(self._writer.write, part, self._to_dead_letter,
                                          trust_refusals=refusals >= TRUST_REFUSALS_AFTER)
            except TransientStoreError as exc:
                refusals = refusals + 1 if exc.refused else 0
                self._failed(exc, len(part))
                if exc.written:
                    self._stored(exc.written)
                rest = [exc.unwritten(part)]
                if exc.no_space:  # the store cannot reserve room for this INSERT: smaller ones
                    rest = [half for p in rest for half in _halves(p)]
                parts[0:1] = rest
                raise
            parts.pop(0)
            refusals = 0
            self._stored(outcome.written)

        while parts:  # the backoff starts afresh after each part stored
            self.retry.run(attempt, lambda e: isinstance(e, TransientStoreError),
                           self._queue.stop_event)

    def _may_repeat(self, batch) -> bool:
        return (isinstance(batch, SpanBatch) and not batch.insert_token
                and 0 < batch.seq_low <= self.replayed_through)

    def _not_stored(self, batch: SpanBatch) -> SpanBatch:
        """``batch`` less the spans the store already holds (stored before a crash)."""
        try:
            stored = self._writer.stored_span_ids(batch.trace_id)
        except StoreError as exc:
            self._failed(exc, len(batch))
            raise TransientStoreError(str(exc)) from exc
        keep = [i for i, key in enumerate(zip(batch.trace_id, batch.span_id)) if key not in stored]
        if len(keep) < len(batch):
            log.info("replay: %d of %d spans were stored before the restart; not again",
                     len(batch) - len(keep), len(batch))
            self._already_stored.labels(self.name).inc(len(batch) - len(keep))
            batch = batch.take(keep)
        return batch

    def _stored(self, n: int) -> None:
        self.last_commit = time.monotonic()
        self.last_error = ""
        self._telemetry.spans_stored.labels(self.name).inc(n)

    def _failed(self, exc: Exception, n: int) -> None:
        self._telemetry.store_errors.labels(self.name).inc()
        self.last_error = str(exc)[:500]
        log.warning("insert of %d spans failed, retrying: %s", n, self.last_error)

    def _to_dead_letter(self, batch: SpanBatch, error: str) -> None:
        self._dead_counter.labels(self.name).inc(len(batch))
        log.error("store refused %d span(s) for their content; dead-lettered: %s",
                  len(batch), error[:300])
        if self._dead_letter is not None:
            self._dead_letter.append(batch, error)


def _halves(batch: SpanBatch) -> list[SpanBatch]:
    n = len(batch)
    if n < 2:
        return [batch]
    out = []
    for i, rows in enumerate((range(0, n // 2), range(n // 2, n))):
        part = batch.take(rows)
        part.insert_token = f"{batch.insert_token}/{i}" if batch.insert_token else ""
        out.append(part)
    return out


# ------------------------------------------------------------------ the component
FIELDS = (
    "endpoint", "database", "traces_table_name", "ttl", "create_schema", "username", "password",
    "timeout", "table_engine", "cluster_name", "async_insert", "compress", "connection_params",
    "logs_table_name", "metrics_tables", "metrics_table_name", "sending_queue", "retry_on_failure",
)


def parse_store_settings(s: Section) -> dict:
    """The ``ServeSettings`` fields the exporter's section sets (endpoint, database, table,
    ttl_days, create_schema, table_engine, cluster_name, async_insert, compress), with the
    collector exporter's defaults (``config.go``, ``factory.go``); its other fields are
    accepted."""
    s.allow(*FIELDS)
    values: dict = {}
    endpoint = s.string("endpoint", "")
    if endpoint:
        if not endpoint.startswith(("chdb://", "http://", "https://")):
            raise ConfigError(f"{endpoint!r} is not supported; use chdb://PATH (embedded) or "
                              "http(s)://host:8123", s.key_of("endpoint"))
        user, password = s.string("username", ""), s.string("password", "")
        if user and endpoint.startswith("http") and "@" not in endpoint:
            scheme, rest = endpoint.split("://", 1)
            credentials = f"{quote(user)}:{quote(password)}" if password else quote(user)
            endpoint = f"{scheme}://{credentials}@{rest}"
        values["store_endpoint"] = endpoint
    values["database"] = s.string("database", "default")
    values["table"] = s.string("traces_table_name", "otel_traces")
    ttl = s.raw("ttl")
    if ttl not in (None, "", 0):
        values["ttl_days"] = math.ceil(s.duration("ttl") / 86400)
    values["create_schema"] = s.boolean("create_schema", True)
    values["table_engine"] = _engine(s)
    cluster = s.string("cluster_name", "")
    if cluster:
        _keyed(lambda: check_cluster_name(cluster), s.key_of("cluster_name"))
        _keyed(lambda: check_cluster_engine(values["table_engine"]), s.key_of("table_engine"))
    values["cluster_name"] = cluster
    params = _connection_params(s)
    # As the exporter: connection_params win over the option (clickhouse-go reads them from
    # the DSN first), and the option defaults to true.
    if "async_insert" in params:
        values["async_insert"] = _keyed(lambda: _go_bool(params["async_insert"]),
                                        s.key_of("connection_params.async_insert"))
    else:
        values["async_insert"] = s.boolean("async_insert", True)
    values["compress"] = _compress(s, params)
    return values


def _keyed(check: Callable, key: str):
    """``check()``, its ``ConfigError`` located at ``key``."""
    try:
        return check()
    except ConfigError as exc:
        raise ConfigError(str(exc), key) from None


def _engine(s: Section) -> str:
    """``table_engine``: the exporter's mapping ``{name, params}`` (an empty name means
    ``MergeTree()`` and drops the params, as its ``tableEngineString``), or a string."""
    raw = s.raw("table_engine")
    if raw is None:
        return "MergeTree()"
    if isinstance(raw, str):  # Spanhouse's older spelling, e.g. "ReplicatedMergeTree()"
        name, params = split_engine(raw)
        key = s.key_of("table_engine")
    else:
        engine = s.section("table_engine").allow("name", "params")
        name = engine.string("name", "")
        if not name:
            return "MergeTree()"
        engine.string("name", choices=ENGINE_NAMES)  # unknown: "did you mean"
        params, key = engine.string("params", ""), engine.key_of("params")
    if name not in ENGINE_NAMES:
        raise ConfigError(f"{name!r} is not one of {', '.join(ENGINE_NAMES)}", key)
    if not _ENGINE_PARAMS.fullmatch(params):
        raise ConfigError(f"{params!r}: engine parameters may hold letters, digits, quotes, "
                          "{macros}, '/', '.', ',', '-', '_' and spaces only", key)
    return f"{name}({params})"


def _connection_params(s: Section) -> dict:
    raw = s.raw("connection_params")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping of strings", s.key_of("connection_params"))
    return {str(k): v for k, v in raw.items()}


def _go_bool(value) -> bool:
    """A DSN flag as clickhouse-go reads it (Go's ``strconv.ParseBool``)."""
    if isinstance(value, bool):
        return value
    text = str(value)
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ConfigError(f"{text!r} is not true or false")


def _compress(s: Section, params: dict) -> str:
    """``compress`` (connection_params' first): lz4 by default, as the exporter's DSN."""
    if "compress" in params:
        value, key = params["compress"], s.key_of("connection_params.compress")
    else:
        value, key = s.raw("compress", ""), s.key_of("compress")
    if isinstance(value, bool):  # YAML true/false; the collector decodes them as "1"/"0"
        value = "true" if value else "none"
    if not isinstance(value, str):
        raise ConfigError(f"expected one of none, lz4, zstd, gzip, deflate, br, got {value!r}", key)
    compression = _keyed(lambda: client_compression(value), key)
    return compression or "none"


def _create(component_id: str, section: Section, context: BuildContext) -> Exporter:
    parse_store_settings(section)  # checked like every component's settings
    return context.store()


FACTORY = Factory("exporter", "clickhouse", _create)
