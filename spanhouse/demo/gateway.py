"""API Gateway (Flask): the shop's front door.

``GET /products?category=C`` and ``POST /checkout``: verify the caller with the auth service,
then call the product service or the order service. ``user.id`` goes on the entry span and
into W3C baggage for the services behind.

The fault behind ``--break-context``: the call to the auth service goes through a hand-rolled
client wrapper that records a CLIENT span but never injects the trace context into the
request (the seed's "service A calls service B but doesn't pass the trace ID"), so every
auth-service span starts a trace of its own.
"""

from __future__ import annotations

import requests
from flask import Flask, jsonify, request
from opentelemetry import baggage, context, trace
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from spanhouse.demo.shop import ShopConfig
from spanhouse.demo.tracing import setup_tracing

TIMEOUT_S = 10


def create_app(config: ShopConfig) -> Flask:
    app = Flask("api-gateway")
    tracer = trace.get_tracer(__name__)
    session = requests.Session()
    auth_url = config.url("auth-service") + "/verify"

    def verify(token: str) -> requests.Response:
        if not config.break_context:
            return session.post(auth_url, json={"token": token}, timeout=TIMEOUT_S)
        # The mistake: a CLIENT span is recorded, but nothing calls propagate.inject().
        with tracer.start_as_current_span(
                "POST", kind=SpanKind.CLIENT,
                attributes={"http.request.method": "POST", "url.full": auth_url,
                            "peer.service": "auth-service"}) as span:
            with suppress_http_instrumentation():
                response = session.post(auth_url, json={"token": token}, timeout=TIMEOUT_S)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            return response

    def authenticate():
        """``(user_id, None)`` or ``(None, error response)``."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        answer = verify(token)
        if answer.status_code != 200:
            return None, (jsonify(error="unauthorized"), 401)
        user_id = answer.json()["user_id"]
        trace.get_current_span().set_attribute("user.id", user_id)
        return user_id, None

    def with_user(user_id: str):
        return context.attach(baggage.set_baggage("user.id", user_id))

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/products")
    def products():
        user_id, refused = authenticate()
        if refused:
            return refused
        token = with_user(user_id)
        try:
            answer = session.get(config.url("product-service") + "/products",
                                 params={"category": request.args.get("category", "books")},
                                 timeout=TIMEOUT_S)
        finally:
            context.detach(token)
        return answer.content, answer.status_code, {"Content-Type": "application/json"}

    @app.post("/checkout")
    def checkout():
        user_id, refused = authenticate()
        if refused:
            return refused
        cart = request.get_json(force=True)
        token = with_user(user_id)
        try:
            answer = session.post(config.url("order-service") + "/orders",
                                  json={**cart, "user_id": user_id}, timeout=TIMEOUT_S)
        finally:
            context.detach(token)
        if answer.status_code >= 400:
            message = answer.json().get("error", f"order-service answered {answer.status_code}")
            trace.get_current_span().set_status(Status(StatusCode.ERROR,
                                                       f"checkout failed: {message}"))
        return answer.content, answer.status_code, {"Content-Type": "application/json"}

    setup_tracing("api-gateway", config.otlp_endpoint, app=app, peers=config.peers)
    return app
