"""The shop's customers: many users (``user-1`` .. ``user-500``) browsing the product page and
checking out, from a few threads. Not instrumented: they are the outside world.

A few requests are remembered as (user, time, endpoint, status), like the support tickets
"user X's checkout failed at T" that the third of the seed's queries answers.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from spanhouse.demo.products import CATEGORIES

USERS = 500
CHECKOUT_SHARE = 0.3
CLEARANCE_SHARE = 0.08
MAX_REMEMBERED = 50


@dataclass(frozen=True)
class Visit:
    user_id: str
    at: float                   # Unix time the request was sent
    endpoint: str               # "GET /products" or "POST /checkout"
    status: int
    duration_ms: float


class Traffic:
    def __init__(self, gateway_url: str, threads: int = 8, pause_s: float = 0.05, seed: int | None = None):
        self.gateway_url = gateway_url
        self.threads = threads
        self.pause_s = pause_s
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self.counts: Counter = Counter()
        self.remembered: list[Visit] = []

    def start(self) -> None:
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(random.Random(self.rng.random()),),
                                      name=f"customer-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def failed_checkouts(self) -> list[Visit]:
        with self._lock:
            return [v for v in self.remembered if v.endpoint == "POST /checkout" and v.status >= 400]

    def _run(self, rng: random.Random) -> None:
        with httpx.Client(base_url=self.gateway_url, timeout=15) as client:
            while not self._stop.is_set():
                user = f"user-{rng.randint(1, USERS)}"
                headers = {"Authorization": f"Bearer token-{user}"}
                at = time.time()
                started = time.perf_counter()
                checkout = rng.random() < CHECKOUT_SHARE
                endpoint = "POST /checkout" if checkout else "GET /products"
                try:
                    if checkout:
                        items = [{"product_id": rng.randint(1, 200), "quantity": rng.randint(1, 3),
                                  "price": round(rng.uniform(3, 120), 2)}
                                 for _ in range(rng.randint(1, 4))]
                        response = client.post("/checkout", headers=headers,
                                               json={"items": items, "payment_method": "card"})
                    else:
                        category = ("clearance" if rng.random() < CLEARANCE_SHARE
                                    else rng.choice(CATEGORIES[:-1]))
                        response = client.get("/products", headers=headers,
                                              params={"category": category})
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                visit = Visit(user, at, endpoint, status, (time.perf_counter() - started) * 1000)
                with self._lock:
                    self.counts[endpoint] += 1
                    self.counts[f"{endpoint} {status}"] += 1
                    if status >= 400 or len(self.remembered) < MAX_REMEMBERED // 2:
                        if len(self.remembered) < MAX_REMEMBERED:
                            self.remembered.append(visit)
                self._stop.wait(rng.uniform(0, 2 * self.pause_s))
