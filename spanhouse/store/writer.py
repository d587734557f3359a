"""The store's write side: one ``SpanBatch`` becomes one Arrow table and one INSERT.

Every column is built straight from the batch's flat lists and offsets (Arrow's list and map
layouts); there is no Python object or dict per span on the way in:

- per-span resource and scope columns are ``take``-n from the small resource/scope tables by
  ``resource_index`` / ``scope_index`` (a MapArray ``take`` for ``ResourceAttributes``);
- attribute maps are ``MapArray.from_arrays(offsets, keys, values)`` over the flat lists;
- the ``*AttributeTypes`` maps hold only the non-string entries, selected with a numpy mask
  and recounted per owner with ``bincount``;
- ``Events.*`` / ``Links.*`` are list arrays over the event/link value arrays.

Only the columns the target table has are sent, so a table created by the OTel Collector's
ClickHouse exporter (without Spanhouse's extra columns) is written the same way.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spanhouse.errors import InvalidInput, StoreError
from spanhouse.model.attributes import STRING, TYPE_NAMES
from spanhouse.model.batch import AttrColumns, SpanBatch
from spanhouse.model.enums import SPAN_KINDS, STATUS_CODES
from spanhouse.model.raw_chunk import RawChunk
from spanhouse.store.cluster import token_insert_settings
from spanhouse.store.native_insert import NativeIncompatible, NativeProtobufInserter
from spanhouse.store.schema import quote_identifier, table_columns

TIMESTAMP = pa.timestamp("ns", tz="UTC")
_KIND_NAMES = pa.array(SPAN_KINDS, pa.string())
_STATUS_NAMES = pa.array(STATUS_CODES, pa.string())
_TYPE_NAMES = pa.array(TYPE_NAMES, pa.string())


# ---------------------------------------------------------------------------- column builders
def _offsets(offsets) -> pa.Array:
    return pa.array(np.asarray(offsets, dtype=np.int32))


def _strings(values) -> pa.Array:
    return pa.array(values, pa.string())


def _uint32(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.uint32)) if len(values) else pa.array([], pa.uint32())


def _timestamps(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), TIMESTAMP)


def _enum_names(codes, names: pa.Array) -> pa.Array:
    """OTLP enum ints -> the exporter's strings; an unknown value becomes the 0 entry."""
    array = np.asarray(codes, dtype=np.int64)
    array = np.where((array < 0) | (array >= len(names)), 0, array)
    return names.take(pa.array(array))


def attributes_map(cols: AttrColumns) -> pa.MapArray:
    """One ``Map(String, String)`` value per attribute set."""
    return pa.MapArray.from_arrays(_offsets(cols.offsets), _strings(cols.keys), _strings(cols.values))


def attribute_types_map(cols: AttrColumns, keys: pa.Array | None = None) -> pa.MapArray:
    """One ``key -> type name`` map per attribute set, holding only the non-string entries
    (a missing key means "string"). ``keys`` may pass the already built key array."""
    owners = len(cols.offsets) - 1
    types = np.asarray(cols.types, dtype=np.int8)
    mask = types != STRING
    if not mask.any():
        empty = pa.array([], pa.string())
        return pa.MapArray.from_arrays(_offsets(np.zeros(owners + 1, np.int32)), empty, empty)
    offsets = np.asarray(cols.offsets, dtype=np.int64)
    owner = np.repeat(np.arange(owners, dtype=np.int64), np.diff(offsets))
    counts = np.bincount(owner[mask], minlength=owners)
    new_offsets = np.zeros(owners + 1, dtype=np.int32)
    np.cumsum(counts, out=new_offsets[1:])
    keys = _strings(cols.keys) if keys is None else keys
    picked_keys = pc.filter(keys, pa.array(mask))
    picked_names = _TYPE_NAMES.take(pa.array(types[mask].astype(np.int32)))
    return pa.MapArray.from_arrays(pa.array(new_offsets), picked_keys, picked_names)


def _maps(cols: AttrColumns) -> tuple[pa.MapArray, pa.MapArray]:
    keys = _strings(cols.keys)
    values = pa.MapArray.from_arrays(_offsets(cols.offsets), keys, _strings(cols.values))
    return values, attribute_types_map(cols, keys)


def _nested(offsets: pa.Array, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(offsets, values)


def _sampling_columns(batch: SpanBatch, n: int) -> tuple[pa.Array, pa.Array]:
    """``AdjustedCount`` / ``SamplingPolicy``: the batch's per-span ``adjusted_count`` and
    ``sampling_policy`` lists; empty (or absent) lists mean "not sampled": every span is
    written with weight 1.0 and no policy. This is the one place the sampling columns are
    built (the hook for anything sampling adds to the batch later)."""
    adjusted = getattr(batch, "adjusted_count", None)
    policy = getattr(batch, "sampling_policy", None)
    adjusted_arr = (pa.array(np.asarray(adjusted, dtype=np.float64)) if adjusted
                    else pa.array(np.ones(n, dtype=np.float64)))
    policy_arr = _strings(policy) if policy else pa.array([""] * n, pa.string())
    return adjusted_arr, policy_arr


def batch_to_arrow(batch: SpanBatch, columns: set[str] | None = None) -> pa.Table:
    """The INSERT's Arrow table for ``batch``; with ``columns``, only those columns (the ones
    the target table has). The batch is only read."""
    b = batch
    n = len(b)
    want = (lambda name: True) if columns is None else columns.__contains__
    out: dict[str, pa.Array] = {}

    res_idx = pa.array(np.asarray(b.resource_index, dtype=np.int32))
    scope_idx = pa.array(np.asarray(b.scope_index, dtype=np.int32))
    start = np.asarray(b.start_ns, dtype=np.int64)
    end = np.asarray(b.end_ns, dtype=np.int64)

    out["Timestamp"] = pa.array(start, TIMESTAMP)
    out["TraceId"] = _strings(b.trace_id)
    out["SpanId"] = _strings(b.span_id)
    out["ParentSpanId"] = _strings(b.parent_span_id)
    out["TraceState"] = _strings(b.trace_state)
    out["SpanName"] = _strings(b.name)
    out["SpanKind"] = _enum_names(b.kind, _KIND_NAMES)
    out["ServiceName"] = _strings(b.resource_service_name).take(res_idx)
    if want("ResourceAttributes") or want("ResourceAttributeTypes"):
        res_attrs, res_types = _maps(b.resource_attributes)
        out["ResourceAttributes"] = res_attrs.take(res_idx)
        out["ResourceAttributeTypes"] = res_types.take(res_idx)
    if want("ScopeName"):
        out["ScopeName"] = _strings(b.scope_name).take(scope_idx)
    if want("ScopeVersion"):
        out["ScopeVersion"] = _strings(b.scope_version).take(scope_idx)
    out["SpanAttributes"], out["SpanAttributeTypes"] = _maps(b.attributes)
    out["Duration"] = pa.array(np.maximum(end - start, 0).astype(np.uint64))
    out["StatusCode"] = _enum_names(b.status_code, _STATUS_NAMES)
    out["StatusMessage"] = _strings(b.status_message)

    ev = _offsets(b.event_offsets)
    out["Events.Timestamp"] = _nested(ev, _timestamps(b.event_time_ns))
    out["Events.Name"] = _nested(ev, _strings(b.event_name))
    ev_attrs, ev_types = _maps(b.event_attributes)
    out["Events.Attributes"] = _nested(ev, ev_attrs)
    out["Events.AttributeTypes"] = _nested(ev, ev_types)
    out["Events.DroppedAttributesCount"] = _nested(ev, _uint32(b.event_dropped_attributes_count))

    ln = _offsets(b.link_offsets)
    out["Links.TraceId"] = _nested(ln, _strings(b.link_trace_id))
    out["Links.SpanId"] = _nested(ln, _strings(b.link_span_id))
    out["Links.TraceState"] = _nested(ln, _strings(b.link_trace_state))
    ln_attrs, ln_types = _maps(b.link_attributes)
    out["Links.Attributes"] = _nested(ln, ln_attrs)
    out["Links.AttributeTypes"] = _nested(ln, ln_types)
    out["Links.Flags"] = _nested(ln, _uint32(b.link_flags))
    out["Links.DroppedAttributesCount"] = _nested(ln, _uint32(b.link_dropped_attributes_count))

    out["TraceFlags"] = _uint32(b.flags)
    out["DroppedAttributesCount"] = _uint32(b.dropped_attributes_count)
    out["DroppedEventsCount"] = _uint32(b.dropped_events_count)
    out["DroppedLinksCount"] = _uint32(b.dropped_links_count)
    if want("ResourceDroppedAttributesCount"):
        out["ResourceDroppedAttributesCount"] = _uint32(
            b.resource_dropped_attributes_count).take(res_idx)
    out["AdjustedCount"], out["SamplingPolicy"] = _sampling_columns(b, n)

    return pa.table({name: array for name, array in out.items() if want(name)})


# Trace ids per lookup of stored spans (replay after a crash, behind processors).
STORED_LOOKUP_IDS = 1000


class TraceWriter:
    """Writes ``SpanBatch``es into ``database.table`` (the exporter's traces table): the
    store's ``spanhouse.store.tracestore.Writer``, whose contract ``write`` and ``close`` keep.

    How this writer meets it:

    - ``write`` returns once the INSERT has completed and acknowledged every row; a driver
      error becomes ``StoreError``, a batch Arrow cannot convert ``InvalidInput``.
    - A batch's ``insert_token`` goes with the INSERT as ``insert_deduplication_token``, so a
      table with a deduplication window (``schema.enable_deduplication``) drops a repeat.
    - Its client is its own (not shared): one writer per writing thread.
    - ``write`` also takes a ``RawChunk`` (OTLP protobuf bytes): ClickHouse parses them itself
      (``native_insert``), writing the same rows; a chunk the native INSERT cannot take is
      decoded and written as columns.
    - Only the columns the table has are written (read once, at construction), so a table
      created by the collector's ClickHouse exporter works; Spanhouse's extra columns are then
      simply not stored.
    """

    def __init__(self, client, database: str, table: str):
        self._client = client
        self._database, self._table = database, table
        self._native: NativeProtobufInserter | None = None
        self._target = f"{quote_identifier(database, 'database name')}.{quote_identifier(table, 'table name')}"
        self._columns = table_columns(client, database, table)
        if not self._columns:
            raise StoreError(f"table {database}.{table} does not exist (is create_schema off?)")

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(self._columns)

    def write(self, batch: SpanBatch | RawChunk) -> int:
        n = len(batch)
        if n == 0:
            return 0
        if isinstance(batch, RawChunk):
            try:
                return self._write_native(batch)
            except NativeIncompatible:  # an attribute nested too deep: the Python path
                batch = batch.decode()
        try:
            table = batch_to_arrow(batch, self._columns)
        except (pa.ArrowException, ValueError, TypeError, IndexError, OverflowError) as exc:
            raise InvalidInput(f"malformed span batch ({n} spans): {exc}") from exc
        try:
            settings = token_insert_settings(batch.insert_token) if batch.insert_token else None
            self._client.insert_arrow(self._target, table, settings=settings)
        except Exception as exc:  # driver errors -> our retryable error
            raise StoreError(f"insert of {n} spans into {self._target} failed: {exc}") from exc
        return n

    def _write_native(self, chunk: RawChunk) -> int:
        """ClickHouse parses the chunk's protobuf itself: the same rows as the Python path."""
        if self._native is None:
            self._native = NativeProtobufInserter(self._client, self._database, self._table,
                                                  self._columns)
        self._native.insert_bytes(chunk.payload, chunk.insert_token or None)
        return len(chunk)

    def stored_span_ids(self, trace_ids: list[str]) -> set[tuple[str, str]]:
        """``Writer.stored_span_ids``: one bound query per 1,000 trace ids (the traces table's
        trace-id bloom filter skips the other granules)."""
        found: set[tuple[str, str]] = set()
        ids = sorted(set(trace_ids))
        for lo in range(0, len(ids), STORED_LOOKUP_IDS):
            try:
                rows = self._client.query(
                    f"SELECT TraceId, SpanId FROM {self._target} "
                    "WHERE TraceId IN {ids:Array(String)}",
                    parameters={"ids": ids[lo:lo + STORED_LOOKUP_IDS]}).result_rows
            except Exception as exc:  # driver errors -> our retryable error
                raise StoreError(f"lookup of stored spans in {self._target} failed: {exc}") from exc
            found.update((t, s) for t, s in rows)
        return found

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing is best effort
            pass
