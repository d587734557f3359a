"""Splitting a ``SpanBatch`` by backend: rows grouped by the ring's answer for their routing
key, each group cut out with ``SpanBatch.take`` (columns, no object per span).

The ring is asked once per distinct key in the batch (a trace id, or a resource's
``service.name``), not once per span. Routing by ``service`` sends each span to the backend
of its own resource's service, so one trace may be spread over several backends, which is
what that mode is for (e.g. span metrics per service).
"""

from __future__ import annotations

from spanhouse.exporters.loadbalancing.ring import HashRing
from spanhouse.model.batch import SpanBatch

NO_ENDPOINT = ""  # every backend that could take these rows is excluded


def rows_by_endpoint(batch: SpanBatch, ring: HashRing, routing_key: str,
                     excluded: frozenset[str] = frozenset()) -> dict[str, list[int]]:
    """Row indices per endpoint (``NO_ENDPOINT`` for rows no eligible backend can take)."""
    if routing_key == "service":
        endpoint_of_resource = [_pick(ring, name.encode(), excluded)
                                for name in batch.resource_service_name]
        keys, endpoint_of = batch.resource_index, endpoint_of_resource.__getitem__
    else:
        cache: dict[str, str] = {}

        def endpoint_of(trace_id: str) -> str:
            endpoint = cache.get(trace_id)
            if endpoint is None:
                # upstream hashes the 16 raw bytes of the trace id
                endpoint = cache[trace_id] = _pick(ring, bytes.fromhex(trace_id), excluded)
            return endpoint

        keys = batch.trace_id
    rows: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        endpoint = endpoint_of(key)
        group = rows.get(endpoint)
        if group is None:
            group = rows[endpoint] = []
        group.append(row)
    return rows


def split(batch: SpanBatch, ring: HashRing, routing_key: str,
          excluded: frozenset[str] = frozenset()) -> dict[str, SpanBatch]:
    """The batch's spans per endpoint; a batch wholly for one endpoint is passed as is."""
    rows = rows_by_endpoint(batch, ring, routing_key, excluded)
    if len(rows) == 1:
        return {next(iter(rows)): batch}
    return {endpoint: batch.take(picked) for endpoint, picked in rows.items()}


def _pick(ring: HashRing, identifier: bytes, excluded: frozenset[str]) -> str:
    if not excluded:
        return ring.endpoint_for(identifier)
    return ring.endpoint_avoiding(identifier, excluded)
