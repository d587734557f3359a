"""Collector configs for the end-to-end tests that put the embedded store somewhere of their own
(a small disk to fill up), optionally behind tail sampling."""

from __future__ import annotations

from pathlib import Path

TAIL_SAMPLING = """
processors:
  tail_sampling:
    decision_wait: 3s
    policies:
      - name: everything
        type: always_sample
"""


def store_config(path: Path, store: Path, tail_sampling: bool = False) -> Path:
    """Write a config whose OTLP receivers (gRPC and HTTP, loopback, free ports) feed the
    ``clickhouse`` exporter at ``chdb://store``; returns ``path``."""
    processors = "      processors: [tail_sampling]\n" if tail_sampling else ""
    path.write_text(f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
{TAIL_SAMPLING if tail_sampling else ""}
exporters:
  clickhouse:
    endpoint: chdb://{store}
service:
  pipelines:
    traces:
      receivers: [otlp]
{processors}      exporters: [clickhouse]
""")
    return path


def tail_sampling_config(tmp_path: Path, processors: str) -> Path:
    """Write ``tmp_path/collector.yaml``: an OTLP/gRPC receiver (loopback, a free port), the
    given ``processors:`` block (a ``tail_sampling`` processor) and the ``clickhouse`` exporter
    at ``chdb://tmp_path/data``; returns its path."""
    config = tmp_path / "collector.yaml"
    config.write_text(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
        f"{processors}\n"
        "exporters:\n  clickhouse:\n    endpoint: chdb://" + str(tmp_path / "data") + "\n"
        "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"
        "      processors: [tail_sampling]\n      exporters: [clickhouse]\n")
    return config
