"""Fixtures of the store tests: ONE embedded chDB data directory for the whole session.

chDB allows a single data path per process, so every store test shares this directory and
isolates itself with its own database (``database`` fixture). Tests use the real engine.
"""

from __future__ import annotations

import itertools
import re

import pytest

from spanhouse.store.connection import open_client

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("chdb-store")


@pytest.fixture(scope="session")
def store_endpoint(chdb_dir):
    """The session's chDB endpoint. One client stays open for the whole session, so the
    embedded engine stays up on this path (when its last client closes, chDB shuts down and
    could be reopened elsewhere)."""
    endpoint = f"chdb://{chdb_dir}"
    keeper = open_client(endpoint, "default")
    yield endpoint
    keeper.close()


@pytest.fixture
def database(request) -> str:
    """A database name of this test's own (created by the test, e.g. by create_schema)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:40]
    return f"t{next(_counter)}_{name}"


@pytest.fixture
def client(store_endpoint, database):
    c = open_client(store_endpoint, database)
    yield c
    c.close()


@pytest.fixture
def open_store_client(store_endpoint, database):
    """Opens more clients on the session's store (e.g. one for the writer, one for the reader)."""
    opened = []

    def factory():
        c = open_client(store_endpoint, database)
        opened.append(c)
        return c

    yield factory
    for c in opened:
        c.close()
