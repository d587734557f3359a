"""Order service (Flask): ``POST /orders`` runs the seed's ``process_order``, custom spans and
all: ``validate_inventory`` (asks the product service), ``charge_payment`` (asks the payment
service) and ``send_confirmation`` (puts a message on the ``order-confirmations`` queue for
the email worker).

The queue hop carries the trace context in the message headers (``propagate.inject``) under a
PRODUCER span; with ``--break-queue`` the message goes without headers (the seed's "queues
break trace propagation unless you explicitly pass context").
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import requests
from flask import Flask, jsonify, request
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from spanhouse.demo import shop_queue
from spanhouse.demo.shop import CONFIRMATION_QUEUE, ShopConfig
from spanhouse.demo.tracing import setup_tracing

TIMEOUT_S = 10
tracer = trace.get_tracer(__name__)


class PaymentDeclined(Exception):
    pass


@dataclass(frozen=True)
class Order:
    id: str
    user_id: str
    items: list
    total: float
    payment_method: str
    customer_email: str


class OrderService:
    def __init__(self, config: ShopConfig):
        self.config = config
        self.session = requests.Session()

    # ------------------------------------------------------------ the seed's process_order
    def process_order(self, order: Order) -> None:
        with tracer.start_as_current_span("process_order") as span:
            span.set_attribute("order.id", order.id)
            span.set_attribute("order.total", order.total)
            span.set_attribute("user.id", order.user_id)

            with tracer.start_as_current_span("validate_inventory"):
                self.validate_inventory(order.items)

            with tracer.start_as_current_span("charge_payment"):
                self.charge_payment(order.payment_method, order.total, order)

            with tracer.start_as_current_span("send_confirmation"):
                self.send_email(order.customer_email, order)

    # ------------------------------------------------------------ its steps
    def validate_inventory(self, items: list) -> None:
        answer = self.session.post(self.config.url("product-service") + "/inventory/check",
                                   json={"items": items}, timeout=TIMEOUT_S)
        answer.raise_for_status()

    def charge_payment(self, payment_method: str, total: float, order: Order) -> None:
        answer = self.session.post(
            self.config.url("payment-service") + "/charge",
            json={"order_id": order.id, "user_id": order.user_id, "amount": total,
                  "payment_method": payment_method}, timeout=TIMEOUT_S)
        if answer.status_code == 402:
            raise PaymentDeclined(answer.json().get("error", "payment declined"))
        answer.raise_for_status()

    def send_email(self, customer_email: str, order: Order) -> None:
        headers: dict[str, str] = {}
        with tracer.start_as_current_span(
                f"{CONFIRMATION_QUEUE} publish", kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "sqlite",
                            "messaging.destination.name": CONFIRMATION_QUEUE,
                            "messaging.operation.type": "send",
                            "order.id": order.id}):
            if not self.config.break_queue:
                propagate.inject(headers)
            shop_queue.publish(self.config.queue_db, CONFIRMATION_QUEUE, headers,
                               {"to": customer_email, "order_id": order.id,
                                "user_id": order.user_id, "total": order.total})


def create_app(config: ShopConfig) -> Flask:
    app = Flask("order-service")
    service = OrderService(config)
    numbers = itertools.count(1)
    prefix = f"o{os.getpid() % 1000:03d}"

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.post("/orders")
    def orders():
        cart = request.get_json(force=True)
        items = cart.get("items", [])
        order = Order(id=f"{prefix}-{next(numbers)}", user_id=str(cart.get("user_id", "")),
                      items=items,
                      total=round(sum(i.get("price", 0) * i.get("quantity", 1) for i in items), 2),
                      payment_method=str(cart.get("payment_method", "card")),
                      customer_email=f"{cart.get('user_id', 'someone')}@example.com")
        trace.get_current_span().set_attribute("order.id", order.id)
        try:
            service.process_order(order)
        except PaymentDeclined as exc:
            trace.get_current_span().set_status(Status(StatusCode.ERROR, f"payment declined: {exc}"))
            return jsonify(error=f"payment declined: {exc}", order_id=order.id), 402
        return jsonify(order_id=order.id, total=order.total, status="confirmed")

    setup_tracing("order-service", config.otlp_endpoint, app=app, peers=config.peers)
    return app
