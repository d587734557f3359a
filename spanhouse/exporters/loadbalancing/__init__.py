"""The collector's ``loadbalancing`` exporter (contrib's ``exporter/loadbalancingexporter``)
for traces: the first tier of the collector's two-tier layout routes every span of a trace to
one second-tier instance, so tail sampling there sees whole traces.

- ``config``: upstream's keys (``routing_key``, ``protocol.otlp``, ``resolver.static`` /
  ``resolver.dns``), parsed and checked;
- ``ring``: upstream's consistent hash ring, ported position for position;
- ``resolver``: the static and DNS resolvers;
- ``routing``: a ``SpanBatch`` split by backend;
- ``backends``: one ``otlp`` gRPC transport per backend, kept in step with the resolver;
- ``exporter``: the queue, the sends, and the fail-over to the next backend on the ring.
"""

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.exporters.loadbalancing.config import LoadBalancingSettings, parse_settings
from spanhouse.exporters.loadbalancing.exporter import LoadBalancingExporter
from spanhouse.exporters.loadbalancing.ring import HashRing


def _create(component_id: str, section: Section, context: BuildContext) -> LoadBalancingExporter:
    return LoadBalancingExporter(component_id, context.telemetry, parse_settings(section))


FACTORY = Factory("exporter", "loadbalancing", _create)

__all__ = ["FACTORY", "HashRing", "LoadBalancingExporter", "LoadBalancingSettings",
           "parse_settings"]
