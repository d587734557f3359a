"""The seed's OpenTelemetry setup, once per shop service.

As the seed shows: a ``TracerProvider`` whose ``BatchSpanProcessor`` sends to an
``OTLPSpanExporter`` over gRPC (here: the demo's ``spanhouse serve``), then the three
auto-instrumentations (Flask, requests, SQLAlchemy). Two additions a real shop would make too:

- ``peer.service`` on every outgoing HTTP call (a ``request_hook``), so a call names the service
  it calls even on loopback, where the URL's host is just ``127.0.0.1``;
- ``user.id`` travels as W3C baggage and is copied onto each service's entry span (the seed's
  "add business context"), so ``spanhouse find user.id=...`` finds every part of a request.

The export delay comes from ``OTEL_BSP_SCHEDULE_DELAY`` (the demo sets 200 ms) so a trace's
spans reach the tail sampler well within its ``decision_wait``.
"""

from __future__ import annotations

import atexit
from urllib.parse import urlsplit

from opentelemetry import baggage, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

BUSINESS_KEYS = ("user.id",)


def setup_tracing(service_name: str, otlp_endpoint: str, app=None, engine=None,
                  peers: dict[str, str] | None = None) -> TracerProvider:
    """Instrument this process as the seed does. ``peers`` maps ``host:port`` to the name of
    the service listening there."""
    # Setup
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True))
    )
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # flush what is buffered when the service stops

    # Auto-instrument everything
    if app is not None:
        FlaskInstrumentor().instrument_app(app, excluded_urls="healthz")
        app.before_request(_business_context_from_baggage)
    RequestsInstrumentor().instrument(request_hook=_peer_service_hook(peers or {}))
    if engine is not None:
        SQLAlchemyInstrumentor().instrument(engine=engine)
    return provider


def _peer_service_hook(peers: dict[str, str]):
    def hook(span, request) -> None:
        name = peers.get(urlsplit(request.url).netloc)
        if name and span.is_recording():
            span.set_attribute("peer.service", name)
    return hook


def _business_context_from_baggage() -> None:
    span = trace.get_current_span()
    if not span.is_recording():
        return
    for key in BUSINESS_KEYS:
        value = baggage.get_baggage(key)
        if value:
            span.set_attribute(key, str(value))
