"""docs/architecture.md's walkthrough, run: an exporter added by writing its module and one
line in the factory list (issue 12: "adding an exporter touches its own module and the factory
list only")."""

from __future__ import annotations

import re
import sys
import types as pytypes
from pathlib import Path

import pytest

from spanhouse import components
from spanhouse.component import BuildContext
from spanhouse.config.check import check_config
from spanhouse.config.settings import settings_from_config
from spanhouse.errors import ConfigError
from spanhouse.pipeline import build_pipeline
from spanhouse.telemetry import Telemetry
from tests.processors.spans import trace_batch

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"

CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  batch:
exporters:
  {name}:
    every: 10
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [{name}]
"""


def walkthrough_module() -> pytypes.ModuleType:
    """The exporter module the walkthrough writes, loaded from the doc's code block."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Walkthrough: adding an exporter", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = pytypes.ModuleType("spanhouse_docs_count")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    return module


@pytest.fixture
def with_count(monkeypatch):
    """The walkthrough's second step: its FACTORY added to the one list, nothing else."""
    module = walkthrough_module()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    factories = components.FACTORIES + (module.FACTORY,)
    monkeypatch.setattr(components, "FACTORIES", factories)
    monkeypatch.setattr(components, "_BY_KIND_AND_TYPE", {(f.kind, f.type): f for f in factories})
    return module


def write(tmp_path, name: str) -> str:
    path = tmp_path / "collector.yaml"
    path.write_text(CONFIG.format(name=name))
    return str(path)


def test_the_added_exporter_is_configured_checked_and_fed(with_count, tmp_path):
    path = write(tmp_path, "count")
    assert "  exporters:  count (every 10)" in check_config(path).splitlines()
    pipeline = build_pipeline(settings_from_config(path), BuildContext(Telemetry()))
    (exporter,) = pipeline.exporters
    assert isinstance(exporter, with_count.CountExporter) and exporter.every == 10
    pipeline.start()
    pipeline.consume(trace_batch([{"spans": 3}, {"spans": 2}]))
    assert exporter.spans == 5
    assert pipeline.shutdown(5)


def test_a_typo_is_answered_with_the_added_type(with_count, tmp_path):
    with pytest.raises(ConfigError, match='did you mean "count"'):
        settings_from_config(write(tmp_path, "counts"))


def test_without_its_line_in_the_list_the_type_is_unknown(tmp_path):
    with pytest.raises(ConfigError, match="unknown exporter type 'count'"):
        settings_from_config(write(tmp_path, "count"))
