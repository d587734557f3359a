"""Embedded stores for the analysis tests: fresh databases with Spanhouse's schema, loaded
through the real writer."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

from spanhouse.model.batch import SpanBatch
from spanhouse.store.connection import open_client
from spanhouse.store.schema import create_schema
from spanhouse.store.writer import TraceWriter
from tests.chdb_dir import open_keeper


@contextmanager
def loaded_databases(tmp_path_factory, keeper: str, databases: Mapping[str, Sequence[SpanBatch]]
                     ) -> Iterator[tuple[Callable, dict[str, str]]]:
    """``(client factory, {name: database})``: per name, a fresh database (``otel_traces`` and
    the additions) holding its batches, written in order. ``keeper`` names the chDB directory
    (see ``tests.chdb_dir.open_keeper``); every client the factory opened is closed after."""
    endpoint, keeper_client = open_keeper(tmp_path_factory, keeper)
    opened = []

    def factory():
        client = open_client(endpoint, "default")
        opened.append(client)
        return client

    try:
        names = {}
        for name, batches in databases.items():
            database = f"{name}_{uuid.uuid4().hex[:10]}"
            create_schema(factory(), database, "otel_traces")
            writer = TraceWriter(factory(), database, "otel_traces")
            for batch in batches:
                writer.write(batch)
            names[name] = database
        yield factory, names
    finally:
        for client in opened:
            client.close()
        keeper_client.close()
