"""The collector config: structure, one-line errors with file, line, key and fix, and
``spanhouse config check``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spanhouse.config.check import check_config
from spanhouse.config.settings import settings_from_config
from spanhouse.errors import ConfigError

BASE = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  batch:
    timeout: 1s
  tail_sampling:
    decision_wait: 5s
    policies:
      - name: errors
        type: status_code
        status_code: {status_codes: [ERROR]}
exporters:
  clickhouse:
    endpoint: chdb://./somewhere
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch, tail_sampling]
      exporters: [clickhouse, debug]
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "collector.yaml"
    path.write_text(text)
    return str(path)


def error_of(path: str) -> str:
    with pytest.raises(ConfigError) as err:
        check_config(path)
    return str(err.value)


def test_a_valid_config_is_described(tmp_path):
    out = check_config(write(tmp_path, BASE))
    assert out.startswith(f"{tmp_path}/collector.yaml: valid")
    assert "receivers:  otlp (grpc 127.0.0.1:4317)" in out
    assert "processors: batch" in out and "-> tail_sampling (decision_wait 5s" in out
    assert "policies: errors" in out
    assert "exporters:  clickhouse (chdb://./somewhere, default.otel_traces" in out
    assert "debug" in out


@pytest.mark.parametrize("old,new,line,key,hint", [
    ("    decision_wait: 5s", "    decison_wait: 5s", 10, "processors.tail_sampling.decison_wait",
     'did you mean "decision_wait"'),
    ("    timeout: 1s", "    timeout: soon", 8, "processors.batch.timeout", "duration"),
    ("        endpoint: 127.0.0.1:4317", "        endpont: 127.0.0.1:4317", 5,
     "receivers.otlp.protocols.grpc.endpont", 'did you mean "endpoint"'),
    ("      exporters: [clickhouse, debug]", "      exporters: [clickhouse, debgu]", 25,
     "service.pipelines.traces.exporters[1]", 'did you mean "debug"'),
    ("  debug:\n", "  debugg:\n", 18, "exporters.debugg", 'did you mean "debug"'),
    ("        type: status_code", "        type: status_cod", 13,
     "processors.tail_sampling.policies[0].type", "status_code"),
    ("    endpoint: chdb://./somewhere", "    endpoint: tcp://x:9000", 17,
     "exporters.clickhouse.endpoint", "http(s)://"),
])
def test_errors_name_file_line_key_and_fix(tmp_path, old, new, line, key, hint):
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new))
    message = error_of(path)
    assert message.startswith(f"{path}:{line}: {key}"), message
    assert hint in message


def test_missing_pipelines_prints_a_pipeline_to_paste(tmp_path):
    text = BASE[:BASE.index("service:")]
    message = error_of(write(tmp_path, text))
    assert "service.pipelines is missing" in message
    pasted = message[message.index("service:"):]
    # The suggestion is valid YAML that completes the file.
    fixed = write(tmp_path, text + pasted + "\n")
    assert "valid" in check_config(fixed)


def test_the_pipeline_decides_which_receivers_start(tmp_path):
    settings = settings_from_config(write(tmp_path, BASE))
    assert settings.grpc == "127.0.0.1:4317"
    assert settings.http is None and settings.zipkin is None


def test_serve_refuses_a_typo_at_start_up_in_one_line(tmp_path):
    path = write(tmp_path, BASE.replace("num_traces", "x").replace("decision_wait: 5s",
                                                                   "decision_wait: 5s\n    num_trace: 10"))
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "serve", "--config", path,
                          "--data", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"{path}:11: processors.tail_sampling.num_trace" in lines[0]
    assert 'did you mean "num_traces"' in lines[0]


def test_config_check_command(tmp_path):
    path = write(tmp_path, BASE)
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "config", "check", path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "traces pipeline:" in out.stdout and "tail_sampling" in out.stdout
    bad = write(tmp_path, BASE.replace("processors: [batch, tail_sampling]", "processors: [batch, tail]"))
    out = subprocess.run([sys.executable, "-m", "spanhouse.cli", "config", "check", bad],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "processors[1]" in out.stderr and "tail_sampling" in out.stderr
