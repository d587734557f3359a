"""Fixtures of the query tests: a chDB store with the dataset of ``dataset.py`` and a
``QueryService`` over it.

chDB allows ONE data path per process while any client is open. Like tests/store, the query
tests use one directory for all their tests and one database per dataset; the directory is
package-scoped (its keeper client closes when tests/query is done, so tests/store can then
open its own session directory). If another package's store is already open in this process
(e.g. ``pytest tests/store tests/query``), that directory (``chdb-store*`` under the session's
base temp dir) is reused instead.
"""

from __future__ import annotations

import itertools

import pytest

from spanhouse.store.connection import open_client
from spanhouse.store.pool import Pool
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter
from spanhouse.query.service import QueryService

from tests.query import dataset
from tests.chdb_dir import open_keeper

_counter = itertools.count(1)


def _open_keeper(tmp_path_factory):
    return open_keeper(tmp_path_factory, "chdb-query", "chdb-store*")


@pytest.fixture(scope="package")
def query_store(tmp_path_factory):
    """(endpoint, chdb data dir) of the query tests' embedded store."""
    endpoint, keeper = _open_keeper(tmp_path_factory)
    yield endpoint
    keeper.close()


@pytest.fixture(scope="package")
def client_factory(query_store):
    opened = []

    def factory():
        c = open_client(query_store, "default")
        opened.append(c)
        return c

    yield factory
    for c in opened:
        c.close()


def new_database(prefix: str) -> str:
    return f"q{next(_counter)}_{prefix}"


@pytest.fixture(scope="package")
def loaded(client_factory):
    """A Spanhouse schema holding the dataset: (database, service, admin client)."""
    database = new_database("dataset")
    admin = client_factory()
    create_schema(admin, database, "otel_traces")
    writer = TraceWriter(client_factory(), database, "otel_traces")
    for batch in dataset.batches():
        writer.write(batch)
    service = QueryService(Pool(client_factory, size=2), database, "otel_traces")
    return database, service, admin


@pytest.fixture
def svc(loaded) -> QueryService:
    return loaded[1]
