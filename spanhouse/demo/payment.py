"""Payment service (Flask): ``POST /charge`` charges a card. A share of the cards
(``decline_rate``) is declined: the charge's span gets an error status with the reason and the
service answers 402, which the order service and the gateway pass on as errors of their own.
"""

from __future__ import annotations

import random
import time

from flask import Flask, jsonify, request
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from spanhouse.demo.shop import ShopConfig
from spanhouse.demo.tracing import setup_tracing

DECLINE_REASON = "card declined: insufficient funds"


def create_app(config: ShopConfig) -> Flask:
    app = Flask("payment-service")
    rng = random.Random()

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.post("/charge")
    def charge():
        payment = request.get_json(force=True)
        span = trace.get_current_span()
        span.set_attribute("order.id", str(payment.get("order_id", "")))
        span.set_attribute("payment.method", str(payment.get("payment_method", "")))
        span.set_attribute("payment.amount", float(payment.get("amount", 0)))
        time.sleep(rng.uniform(0.02, 0.06))  # the card network
        if rng.random() < config.decline_rate:
            span.set_status(Status(StatusCode.ERROR, DECLINE_REASON))
            return jsonify(error=DECLINE_REASON), 402
        return jsonify(status="charged")

    setup_tracing("payment-service", config.otlp_endpoint, app=app, peers=config.peers)
    return app
