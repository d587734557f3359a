"""Config precedence (flag > file > default), env substitution and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spanhouse.config.settings import ServeSettings, settings_from_config
from spanhouse.errors import ConfigError

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:GRPC_ENDPOINT:-127.0.0.1:5317}
      http:
        endpoint: 127.0.0.1:5318
exporters:
  clickhouse:
    endpoint: ${env:CH_ENDPOINT}
    database: otel
    traces_table_name: my_traces
    ttl: 72h
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [clickhouse]
"""


def test_file_overrides_defaults_and_flags_override_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("CH_ENDPOINT", "http://ch.example:8123")
    s = settings_from_config(str(path))
    assert s.grpc == "127.0.0.1:5317"  # the ${env:VAR:-default} default
    assert s.http == "127.0.0.1:5318"
    assert s.zipkin is None  # not in the pipeline: not started unless --zipkin is given
    assert s.effective_store_endpoint == "http://ch.example:8123"
    assert (s.database, s.table, s.ttl_days) == ("otel", "my_traces", 3)
    s2 = s.with_overrides(grpc="0.0.0.0:7000", http=None)
    assert s2.grpc == "0.0.0.0:7000" and s2.http == "127.0.0.1:5318"
    monkeypatch.setenv("GRPC_ENDPOINT", "10.0.0.1:1")
    assert settings_from_config(str(path)).grpc == "10.0.0.1:1"


def test_default_store_is_embedded_chdb_at_data_dir():
    s = ServeSettings().with_overrides(data="/var/lib/spanhouse")
    assert s.effective_store_endpoint == "chdb:///var/lib/spanhouse"


def test_missing_env_var_names_file_line_and_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("CH_ENDPOINT", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError) as err:
        settings_from_config(str(path))
    message = str(err.value)
    assert f"{path}:11" in message and "CH_ENDPOINT" in message and ":-default" in message


def test_bad_yaml_is_one_line_on_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("receivers:\n  otlp: [unclosed\n")
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "serve", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in out.stderr


def test_bad_listen_address_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "serve", "--data", str(tmp_path / "d"),
                          "--grpc", "nonsense"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--grpc" in out.stderr and "Traceback" not in out.stderr
