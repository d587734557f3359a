"""open_client: chdb://PATH (absolute or relative) and http(s)://[user:password@]host:port."""

from __future__ import annotations

import os

import pytest

from spanhouse.errors import ConfigError, StoreError
from spanhouse.store.connection import _client_args, chdb_path, open_client
from spanhouse.store.schema import create_schema, table_columns


def test_relative_chdb_path_opens_the_same_store(chdb_dir, database, monkeypatch):
    # chDB allows one data path per process: reach the session's directory relatively.
    monkeypatch.chdir(chdb_dir.parent)
    relative = f"chdb://./{chdb_dir.name}"
    assert chdb_path(relative) == str(chdb_dir)
    client = open_client(relative, database)
    try:
        create_schema(client, database, "otel_traces")
        assert "TraceId" in table_columns(client, database, "otel_traces")
    finally:
        client.close()


def test_chdb_directory_is_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _client_args("chdb://data/store") == {"dsn": f"chdb://{tmp_path}/data/store"}
    assert os.path.isdir(tmp_path / "data" / "store")
    assert _client_args(f"chdb://{tmp_path}/abs") == {"dsn": f"chdb://{tmp_path}/abs"}
    assert os.path.isdir(tmp_path / "abs")


def test_http_endpoints():
    assert _client_args("http://localhost:8123") == {
        "host": "localhost", "port": 8123, "username": "default", "password": "", "secure": False}
    assert _client_args("https://ch.example.com") == {
        "host": "ch.example.com", "port": 8443, "username": "default", "password": "",
        "secure": True}
    assert _client_args("http://alice:p%40ss%3Aword@10.0.0.5:9000") == {
        "host": "10.0.0.5", "port": 9000, "username": "alice", "password": "p@ss:word",
        "secure": False}


@pytest.mark.parametrize("endpoint", [
    "chdb://", "chdb://:memory:", "ftp://host:21", "localhost:8123", "http://", "http://host:99999",
    "http://host:port",
])
def test_bad_endpoints_are_config_errors(endpoint):
    with pytest.raises(ConfigError):
        open_client(endpoint, "default")


def test_bad_database_name_is_a_config_error(store_endpoint):
    with pytest.raises(ConfigError):
        open_client(store_endpoint, "no-dashes")


def test_unreachable_server_is_a_store_error_without_the_password():
    with pytest.raises(StoreError) as info:
        open_client("http://bob:s3cret@127.0.0.1:9", "default")  # discard port: refused
    assert "s3cret" not in str(info.value)


def test_second_chdb_path_is_a_store_error(tmp_path, client):
    # the session's path is in use (chDB allows one data path per process)
    with pytest.raises(StoreError):
        open_client(f"chdb://{tmp_path}/other", "default")
