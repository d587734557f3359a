"""The one list of component factories, and what is derived from it: the known types, the
pipeline builder, errors located through the parsed document, Go durations in configs."""

from __future__ import annotations

import pytest

from spanhouse.component import BuildContext
from spanhouse.components import FACTORIES, factory, types
from spanhouse.config.check import check_config
from spanhouse.config.settings import settings_from_config
from spanhouse.errors import ConfigError
from spanhouse.pipeline import build_pipeline
from spanhouse.telemetry import Telemetry

CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
processors:
  batch:
    timeout: .5s
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
exporters:
  clickhouse:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [clickhouse, debug]
"""


class Store:
    name = "clickhouse"


def write(tmp_path, text: str) -> str:
    path = tmp_path / "collector.yaml"
    path.write_text(text)
    return str(path)


def test_every_type_has_one_factory_in_the_order_messages_list_them():
    assert types("receiver") == ("otlp", "zipkin")
    assert types("processor") == ("batch", "memory_limiter", "probabilistic_sampler",
                                  "tail_sampling")
    assert types("exporter") == ("clickhouse", "otlp", "otlphttp", "loadbalancing", "debug")
    assert len({(f.kind, f.type) for f in FACTORIES}) == len(FACTORIES)
    assert factory("processor", "batch").type == "batch"
    with pytest.raises(KeyError):
        factory("processor", "otlp")


def test_an_unknown_type_lists_the_known_ones(tmp_path):
    path = write(tmp_path, CONFIG.replace("  batch:", "  bacth:").replace(
        "[memory_limiter, batch]", "[memory_limiter, bacth]"))
    with pytest.raises(ConfigError) as err:
        settings_from_config(path)
    assert str(err.value) == (
        f"{path}:7: processors.bacth: unknown processor type 'bacth' (did you mean \"batch\"?); "
        "Spanhouse has: batch, memory_limiter, probabilistic_sampler, tail_sampling")
    assert (err.value.path, err.value.line, err.value.key) == (path, 7, "processors.bacth")


def test_a_go_duration_without_its_integer_part_loads(tmp_path):
    settings = settings_from_config(write(tmp_path, CONFIG))
    pipeline = build_pipeline(settings, BuildContext(Telemetry(), store=Store))
    limiter, batch = pipeline.processors
    assert batch.timeout_s == 0.5
    assert limiter.check_interval_s == 1.0
    assert pipeline.exporters[0].name == "clickhouse"


@pytest.mark.parametrize("value", ["-1s", "1d", "soon", "1.5.5s"])
def test_a_bad_duration_is_located(tmp_path, value):
    path = write(tmp_path, CONFIG.replace("timeout: .5s", f"timeout: {value}"))
    with pytest.raises(ConfigError) as err:
        check_config(path)
    assert str(err.value) == (f"{path}:8: processors.batch.timeout: {value!r} is not a duration "
                              "like 72h, 30s or 250ms")


def test_a_factory_error_is_located_through_the_parsed_document(tmp_path):
    path = tmp_path / "collector.yaml"
    path.write_text(CONFIG.replace("limit_mib: 512", "limit_mib: 512\n    spike_limit_mib: 600"))
    settings = settings_from_config(str(path))
    path.unlink()  # the builder does not read the file again
    with pytest.raises(ConfigError) as err:
        build_pipeline(settings, BuildContext(Telemetry(), store=Store))
    key = "processors.memory_limiter.spike_limit_mib"
    assert str(err.value) == f"{path}:12: {key}: must be smaller than limit_mib"
    assert (err.value.path, err.value.line, err.value.key) == (str(path), 12, key)


def test_config_check_describes_every_component_with_its_factory(tmp_path):
    out = check_config(write(tmp_path, CONFIG.replace(
        "  memory_limiter:", "  probabilistic_sampler:\n    sampling_percentage: 25\n"
        "  memory_limiter:").replace("[memory_limiter, batch]",
                                     "[memory_limiter, probabilistic_sampler, batch]")))
    assert out.splitlines()[1:] == [
        "traces pipeline:",
        "  receivers:  otlp (http 127.0.0.1:4318)",
        "  processors: memory_limiter -> probabilistic_sampler (sampling_percentage 25.0, "
        "hash_seed 0, mode , fail_closed True, sampling_precision 4, attribute_source traceID, "
        "from_attribute , sampling_priority ) -> batch",
        "  exporters:  clickhouse (chdb://./spanhouse-data, default.otel_traces, ttl none), debug",
    ]
