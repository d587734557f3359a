"""The ``loadbalancing`` exporter's settings: upstream's keys and defaults accepted, every
mistake stopped at start-up with the file, the line and the key."""

from __future__ import annotations

import pytest

from spanhouse.config.check import check_config
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.exporters.loadbalancing import parse_settings
from spanhouse.exporters.loadbalancing.config import DnsSettings, StaticSettings

HEAD = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
exporters:
  loadbalancing:
"""
TAIL = """\
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [loadbalancing]
"""
STATIC = """\
    protocol:
      otlp:
        timeout: 1s
        tls:
          insecure: true
    resolver:
      static:
        hostnames:
        - endpoint-1
        - endpoint-2:55678
"""


def config_file(tmp_path, body: str) -> str:
    path = tmp_path / "collector.yaml"
    path.write_text(HEAD + body + TAIL)
    return str(path)


def line_of(path: str, marker: str | None) -> int | None:
    """The 1-based line of the file holding ``marker`` (None: no line expected)."""
    if marker is None:
        return None
    lines = open(path).read().splitlines()
    return next(i for i, text in enumerate(lines, 1) if marker in text)


def parse(data: dict):
    return parse_settings(Section(data, "exporters.loadbalancing"))


def test_upstream_testdata_static_example(tmp_path):
    """testdata/config.yaml's first exporter: hostnames as written, default port added for
    dialling only, and the otlp template's settings kept."""
    out = check_config(config_file(tmp_path, STATIC))
    assert "loadbalancing (routing_key traceID, static endpoint-1, endpoint-2:55678)" in out
    s = parse({"protocol": {"otlp": {"timeout": "1s", "tls": {"insecure": True}}},
               "resolver": {"static": {"hostnames": ["endpoint-1", "endpoint-2:55678"]}}})
    assert s.routing_key == "traceID"
    assert s.resolver == StaticSettings(("endpoint-1", "endpoint-2:55678"))
    assert s.otlp.timeout_s == 1.0 and not s.otlp.use_tls
    assert s.for_endpoint("endpoint-1:4317").target == "endpoint-1:4317"


@pytest.mark.parametrize("dns, expected", [
    ({"hostname": "service-1"}, DnsSettings("service-1", "", 5.0, 1.0)),
    ({"hostname": "service-1", "port": 55690}, DnsSettings("service-1", "55690", 5.0, 1.0)),
    ({"hostname": "service-1", "port": "55690", "interval": "30s", "timeout": "250ms"},
     DnsSettings("service-1", "55690", 30.0, 0.25)),
])
def test_dns_resolver_settings_and_defaults(dns, expected):
    s = parse({"protocol": {"otlp": {}}, "resolver": {"dns": dns}, "routing_key": "service"})
    assert s.resolver == expected
    assert s.routing_key == "service"
    assert s.otlp.use_tls  # the otlp exporter's default: TLS unless tls.insecure


def test_otlp_template_keeps_the_otlp_exporters_settings():
    s = parse({"protocol": {"otlp": {
        "endpoint": "ignored:1", "compression": "none", "headers": {"x-tenant": "a"},
        "retry_on_failure": {"initial_interval": "100ms", "max_elapsed_time": "2s",
                             "max_interval": "1s"},
        "sending_queue": {"queue_size": 7, "num_consumers": 2}}},
        "resolver": {"static": {"hostnames": ["a"]}}})
    assert s.otlp.compression == "none" and s.otlp.headers == {"x-tenant": "a"}
    assert s.otlp.retry.max_elapsed_time == 2.0
    assert (s.queue.queue_size, s.queue.num_consumers) == (7, 2)
    assert s.otlp.target != "ignored:1"  # upstream: endpoint is replaced per backend


@pytest.mark.parametrize("body, marker, key, message", [
    (STATIC + "    routing_key: streamID\n", "routing_key: streamID", "exporters.loadbalancing.routing_key",
     "routing by streamID is not supported for traces here"),
    (STATIC + "    routing_key: resource\n", "routing_key: resource", "exporters.loadbalancing.routing_key",
     "routing by resource is not supported for traces here"),
    (STATIC + "    routing_key: traceid\n", "routing_key: traceid", "exporters.loadbalancing.routing_key",
     "'traceid' is not one of traceID, service"),
    (STATIC.replace("      static:", "      k8s:\n        service: lb\n      static:"), "k8s:",
     "exporters.loadbalancing.resolver.k8s", "is not supported by spanhouse"),
    (STATIC.replace("      static:", "      aws_cloud_map:\n        namespace: n\n"
                    "      static:"), "aws_cloud_map:", "exporters.loadbalancing.resolver.aws_cloud_map",
     "is not supported by spanhouse"),
    (STATIC + "    resolver2: {}\n", "resolver2:", "exporters.loadbalancing.resolver2",
     'unknown field (did you mean "resolver"?)'),
    (STATIC.replace("        hostnames:\n        - endpoint-1\n        - endpoint-2:55678\n",
                    "        hostnames: []\n"),
     "hostnames: []", "exporters.loadbalancing.resolver.static.hostnames",
     "no endpoints specified for the static resolver"),
    (STATIC.replace("        insecure: true", "        insecure: yes please"), "insecure: yes",
     "exporters.loadbalancing.protocol.otlp.tls.insecure", "expected true or false"),
    (STATIC.replace("        timeout: 1s", "        timeout: soon"), "timeout: soon",
     "exporters.loadbalancing.protocol.otlp.timeout", "is not a duration"),
])
def test_mistakes_are_located(tmp_path, body, marker, key, message):
    path = config_file(tmp_path, body)
    line = line_of(path, marker)
    with pytest.raises(ConfigError) as err:
        check_config(path)
    assert err.value.key == key
    assert message in str(err.value)
    if line is not None:
        assert (err.value.path, err.value.line) == (path, line)
        assert str(err.value).startswith(f"{path}:{line}: {key}: ")


def test_two_resolvers_are_refused(tmp_path):
    body = STATIC + "      dns:\n        hostname: service-1\n"
    path = config_file(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        check_config(path)
    assert err.value.key == "exporters.loadbalancing.resolver.dns"
    assert err.value.line == line_of(path, "dns:")
    assert "only one resolver should be specified" in str(err.value)


@pytest.mark.parametrize("data, key, message", [
    ({"protocol": {"otlp": {}}, "resolver": {}}, "exporters.loadbalancing.resolver",
     "no resolvers specified"),
    ({"protocol": {}, "resolver": {"static": {"hostnames": ["a"]}}},
     "exporters.loadbalancing.protocol.otlp", "is required"),
    ({"protocol": {"otlp": {}}, "resolver": {"dns": {"port": 4317}}},
     "exporters.loadbalancing.resolver.dns.hostname", "no hostname specified"),
    ({"protocol": {"otlp": {}}, "resolver": {"dns": {"hostname": "h", "port": "http"}}},
     "exporters.loadbalancing.resolver.dns.port", "is not a port number"),
    ({"protocol": {"otlp": {}}, "resolver": {"static": {"hostnames": ["a"]}},
      "routing_attributes": ["x"]}, "exporters.loadbalancing.routing_attributes",
     "not supported for traces here"),
])
def test_bad_values_name_the_key(data, key, message):
    with pytest.raises(ConfigError) as err:
        parse(data)
    assert err.value.key == key
    assert message in str(err.value)
