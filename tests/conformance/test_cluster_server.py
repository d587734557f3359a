"""The store conformance suite (``test_tracestore``'s fixtures and cases) on a ClickHouse server in
the exporter's cluster and async-insert forms:

- ``server-async-insert``: ``CLICKHOUSE_URL`` (``http://user:password@host:8123``), inserts with
  ``async_insert=1, wait_for_async_insert=1`` (the exporter's default ``async_insert: true``)
  and zstd HTTP compression (``compress: zstd``);
- ``server-cluster``: also ``CLICKHOUSE_CLUSTER`` (a cluster of ``<remote_servers>``): the schema
  ON CLUSTER, local tables in ``CLICKHOUSE_TABLE_ENGINE`` (default ``ReplicatedMergeTree()``,
  whose Keeper path comes from the server's ``default_replica_path``; give e.g.
  ``ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')`` when the
  server has no default), Distributed tables over them, written through the Distributed traces
  table with the cluster INSERT settings.

Each runs in a database of its own, dropped afterwards; both are skipped, saying which variable
to set, when there is no server.
"""

from __future__ import annotations

import os
import uuid

import pytest

from spanhouse.store.cluster import insert_settings, on_cluster_clause
from spanhouse.store.connection import client_compression, open_client
from spanhouse.store.schema import create_schema, quote_identifier
from spanhouse.store.writer import TraceWriter

from tests.conformance.test_tracestore import CASES, TABLE, _reader, _write_fixtures, check_case

SERVER_URL = os.environ.get("CLICKHOUSE_URL", "")
CLUSTER = os.environ.get("CLICKHOUSE_CLUSTER", "")
ENGINE = os.environ.get("CLICKHOUSE_TABLE_ENGINE", "ReplicatedMergeTree()")
NO_SERVER = "set CLICKHOUSE_URL=http://host:8123 to run against a ClickHouse server"
NO_CLUSTER = ("set CLICKHOUSE_URL and CLICKHOUSE_CLUSTER (a cluster of the server's "
              "remote_servers) to run the cluster form")


def _stored(database: str, cluster: str, engine: str, settings: dict):
    admin = open_client(SERVER_URL, database)
    try:
        create_schema(admin, database, TABLE, engine=engine, cluster=cluster)
        writer = TraceWriter(open_client(SERVER_URL, database, settings=settings,
                                         compress=client_compression("zstd")), database, TABLE)
        _write_fixtures(writer)
        writer.close()
        yield SERVER_URL, database
    finally:
        where = f" {on_cluster_clause(cluster)} SYNC" if cluster else ""
        admin.command(f"DROP DATABASE IF EXISTS {quote_identifier(database)}{where}")
        admin.close()


@pytest.fixture(scope="module", params=["server-async-insert", "server-cluster"])
def reader(request):
    if not SERVER_URL:
        pytest.skip(NO_SERVER)
    database = f"spanhouse_conformance_{uuid.uuid4().hex[:12]}"
    if request.param == "server-cluster":
        if not CLUSTER:
            pytest.skip(NO_CLUSTER)
        stores = _stored(database, CLUSTER, ENGINE, insert_settings(
            cluster=CLUSTER, async_insert=True, replicated=ENGINE.startswith("Replicated")))
    else:
        stores = _stored(database, "", "MergeTree()", insert_settings(async_insert=True))
    endpoint, database = next(stores)
    service = _reader(endpoint, database)
    yield service
    service.close()
    next(stores, None)  # drops the database


@pytest.mark.parametrize("case", CASES, ids=[case["caption"] for case in CASES])
def test_reader_answers_the_case(reader, case):
    check_case(reader, case)

