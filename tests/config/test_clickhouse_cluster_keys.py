"""The ``clickhouse`` exporter's cluster keys: ``cluster_name``, ``table_engine {name, params}``,
``create_schema``, ``async_insert``, ``compress``, read from a real collector YAML file with the
exporter's defaults and precedence (exporter/clickhouseexporter ``config.go``, ``factory.go``,
``config_test.go``: ``TestConfig_buildDSN``), and refused with the file's line when wrong."""

from __future__ import annotations

import pytest
import yaml

from spanhouse.config.settings import settings_from_config
from spanhouse.errors import ConfigError
from clickhouse_connect.driver.compression import available_compression

PIPELINE = {"receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:5317"}}}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"],
                                                 "exporters": ["clickhouse"]}}}}
REPLICATED_PARAMS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def settings(tmp_path, **exporter):
    path = tmp_path / "spanhouse.yaml"
    config = {**PIPELINE, "exporters": {"clickhouse": {"endpoint": "http://ch:8123", **exporter}}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return settings_from_config(str(path))


def refused(tmp_path, **exporter) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        settings(tmp_path, **exporter)
    return err.value


def line_of(tmp_path, text: str) -> int:
    lines = (tmp_path / "spanhouse.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_defaults_are_the_exporters(tmp_path):
    # factory.go: CreateSchema true; config.go: MergeTree() when no engine name, ON CLUSTER
    # only with a name; config_test.go: async_insert=true and compress=lz4 in the default DSN.
    s = settings(tmp_path)
    assert (s.table_engine, s.cluster_name, s.create_schema) == ("MergeTree()", "", True)
    assert (s.async_insert, s.compress) == (True, "lz4")


def test_every_key_set(tmp_path):
    s = settings(tmp_path, cluster_name="spans-cluster", create_schema=False,
                 table_engine={"name": "ReplicatedMergeTree", "params": REPLICATED_PARAMS},
                 async_insert=False, compress="zstd")
    assert s.table_engine == f"ReplicatedMergeTree({REPLICATED_PARAMS})"
    assert (s.cluster_name, s.create_schema, s.async_insert, s.compress) == (
        "spans-cluster", False, False, "zstd")


def test_engine_without_a_name_is_merge_tree_and_drops_params(tmp_path):
    # tableEngineString: an empty Name gives "MergeTree()" whatever Params says.
    assert settings(tmp_path, table_engine={"params": "x"}).table_engine == "MergeTree()"
    assert settings(tmp_path, table_engine={"name": "ReplacingMergeTree"}).table_engine == \
        "ReplacingMergeTree()"


@pytest.mark.parametrize("value,expected", [
    # TestConfig_buildDSN: "" and "true" mean lz4; none turns it off; a method is kept.
    ("", "lz4"), ("true", "lz4"), (True, "lz4"), ("none", "none"), (False, "none"),
    ("gzip", "gzip"), ("zstd", "zstd"), ("deflate", "deflate")])
def test_compress_values(tmp_path, value, expected):
    if expected not in ("none", *available_compression):
        pytest.skip(f"{expected} needs a Python package not installed here")
    assert settings(tmp_path, compress=value).compress == expected


def test_connection_params_take_priority(tmp_path):
    # "connection_params takes priority over endpoint and async_insert option" and the same
    # for compress (TestConfig_buildDSN).
    s = settings(tmp_path, async_insert=True, compress="zstd",
                 connection_params={"async_insert": "false", "compress": "none"})
    assert (s.async_insert, s.compress) == (False, "none")
    s = settings(tmp_path, async_insert=False, connection_params={"async_insert": "true"})
    assert s.async_insert is True


@pytest.mark.parametrize("exporter,key,line_text,words", [
    ({"table_engine": {"name": "ReplicatedMergeTre"}}, "table_engine.name", "name: Replicated",
     ['did you mean "ReplicatedMergeTree"']),
    ({"table_engine": {"name": "Log"}}, "table_engine.name", "name: Log", ["'Log' is not one of"]),
    ({"table_engine": {"name": "MergeTree", "params": "x); DROP TABLE t"}}, "table_engine.params",
     "params:", ["engine parameters"]),
    ({"table_engine": {"name": "MergeTree", "engine": "x"}}, "table_engine.engine", "engine: x",
     ["unknown field"]),
    ({"cluster_name": "two words"}, "cluster_name", "cluster_name:", ["invalid cluster name"]),
    ({"cluster_name": "c1", "table_engine": {"name": "ReplacingMergeTree"}}, "table_engine",
     "table_engine:", ["cannot hold the traces table on a cluster"]),
    ({"cluster_name": "c1", "table_engine": {"name": "ReplicatedMergeTree",
                                             "params": "'/clickhouse/tables/{shard}/t', '{replica}'"}},
     "table_engine", "table_engine:", ["{table} or {uuid}"]),
    ({"compress": "snappy"}, "compress", "compress: snappy", ["'snappy' is not one of"]),
    ({"async_insert": "yes"}, "async_insert", "async_insert: 'yes'", ["expected true or false"]),
    ({"connection_params": {"async_insert": "maybe"}}, "connection_params.async_insert",
     "async_insert: maybe", ["'maybe' is not true or false"]),
])
def test_bad_values_name_the_key_and_line(tmp_path, exporter, key, line_text, words):
    err = refused(tmp_path, **exporter)
    assert err.key == f"exporters.clickhouse.{key}"
    assert err.line == line_of(tmp_path, line_text)
    message = str(err)
    assert message.startswith(f"{tmp_path / 'spanhouse.yaml'}:{err.line}:")
    for word in words:
        assert word in message


def test_br_needs_its_package(tmp_path):
    if "br" in available_compression:
        assert settings(tmp_path, compress="br").compress == "br"
    else:
        err = refused(tmp_path, compress="br")
        assert err.key == "exporters.clickhouse.compress" and "not available" in str(err)
