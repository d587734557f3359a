"""The component factories of the ``otlp`` and ``otlphttp`` exporters (see
``spanhouse.component``): ``create`` parses and checks the section and opens nothing."""

from __future__ import annotations

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.exporters.otlp.exporter import OtlpGrpcExporter, OtlpHttpExporter


def _create_grpc(component_id: str, section: Section, context: BuildContext) -> OtlpGrpcExporter:
    return OtlpGrpcExporter.from_config(component_id, section, context.telemetry)


def _create_http(component_id: str, section: Section, context: BuildContext) -> OtlpHttpExporter:
    return OtlpHttpExporter.from_config(component_id, section, context.telemetry)


OTLP_FACTORY = Factory("exporter", "otlp", _create_grpc)
OTLPHTTP_FACTORY = Factory("exporter", "otlphttp", _create_http)
