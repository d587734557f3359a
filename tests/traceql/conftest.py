"""Fixtures of the TraceQL tests: an embedded chDB store (one directory for the package, one
database per dataset, as tests/query) and engines over it.

``make_store(batches)`` creates a fresh database with Spanhouse's schema, writes the given
``SpanBatch``es through the real ``TraceWriter`` and returns ``(QueryService, AnalysisStore)``
over it; ``make_engine(batches)`` returns a ``TraceQLEngine`` over the same. Datasets with
known answers live beside the tests (``dataset.py``, ``metrics_dataset.py``).
"""

from __future__ import annotations

import itertools

import pytest

from spanhouse.analysis.store import AnalysisStore
from spanhouse.query.service import QueryService
from spanhouse.store.connection import open_client
from spanhouse.store.pool import Pool
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter

from tests.chdb_dir import open_keeper

_counter = itertools.count(1)


@pytest.fixture(scope="package")
def traceql_endpoint(tmp_path_factory):
    endpoint, keeper = open_keeper(tmp_path_factory, "chdb-traceql", "chdb-*")
    yield endpoint
    keeper.close()


@pytest.fixture(scope="package")
def client_factory(traceql_endpoint):
    opened = []

    def factory():
        c = open_client(traceql_endpoint, "default")
        opened.append(c)
        return c

    yield factory
    for c in opened:
        c.close()


@pytest.fixture(scope="package")
def make_store(client_factory):
    def make(batches, prefix: str = "ds") -> tuple[QueryService, AnalysisStore]:
        database = f"tq{next(_counter)}_{prefix}"
        create_schema(client_factory(), database, "otel_traces")
        writer = TraceWriter(client_factory(), database, "otel_traces")
        for batch in batches:
            writer.write(batch)
        service = QueryService(Pool(client_factory, size=2), database, "otel_traces")
        return service, AnalysisStore(None, database, "otel_traces", query=service)

    return make


@pytest.fixture(scope="package")
def make_engine(make_store):
    def make(batches, prefix: str = "ds"):
        from spanhouse.query.traceql.engine import TraceQLEngine

        _service, reader = make_store(batches, prefix)
        return TraceQLEngine(reader)

    return make
