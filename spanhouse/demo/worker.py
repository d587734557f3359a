"""Email worker: takes order confirmations off the queue and sends the emails.

Each message is handled under a CONSUMER span started from the context in the message's
headers (``propagate.extract``), so with headers it joins the order's trace as a child of the
PRODUCER span; without them (``--break-queue``) it starts a trace of its own. Some mail servers
greylist the first attempt: about ``slow_email_rate`` of the emails take over a second.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from spanhouse.demo import shop_queue
from spanhouse.demo.shop import CONFIRMATION_QUEUE, ShopConfig
from spanhouse.demo.tracing import setup_tracing

POLL_S = 0.05
SENDERS = 8
GREYLIST_DELAY_S = 1.1
SMTP_SERVER = "smtp.example.com"


class EmailWorker:
    def __init__(self, config: ShopConfig):
        self.config = config
        self.tracer = trace.get_tracer(__name__)
        self.rng = random.Random()

    def handle(self, headers: dict, body: dict) -> None:
        parent = propagate.extract(headers)
        with self.tracer.start_as_current_span(
                f"{CONFIRMATION_QUEUE} process", context=parent, kind=SpanKind.CONSUMER,
                attributes={"messaging.system": "sqlite",
                            "messaging.destination.name": CONFIRMATION_QUEUE,
                            "messaging.operation.type": "process",
                            "order.id": str(body.get("order_id", "")),
                            "user.id": str(body.get("user_id", ""))}):
            self.send_email(body)

    def send_email(self, message: dict) -> None:
        # A call out of the shop: it names the mail server it talks to, as a client span should.
        with self.tracer.start_as_current_span(
                "send_email", kind=SpanKind.CLIENT,
                attributes={"server.address": SMTP_SERVER, "peer.service": "smtp",
                            "email.to": message.get("to", "")}) as span:
            greylisted = self.rng.random() < self.config.slow_email_rate
            span.set_attribute("email.greylisted", greylisted)
            time.sleep(GREYLIST_DELAY_S if greylisted else self.rng.uniform(0.005, 0.02))


def run(config: ShopConfig) -> None:
    setup_tracing("email-worker", config.otlp_endpoint, peers=config.peers)
    worker = EmailWorker(config)
    print(f"consuming {CONFIRMATION_QUEUE}", flush=True)
    with ThreadPoolExecutor(SENDERS, thread_name_prefix="sender") as senders:
        while True:
            messages = shop_queue.take(config.queue_db, CONFIRMATION_QUEUE, limit=SENDERS)
            if not messages:
                time.sleep(POLL_S)
                continue
            for headers, body in messages:
                senders.submit(worker.handle, headers, body)
