"""Product Service (Flask): the product page's data, and stock checks for orders.

DB: SQLAlchemy over a SQLite file (instrumented with ``SQLAlchemyInstrumentor``). Cache: an
in-process dict behind a custom span. The fault: the product list query has no index on
``category`` and scans the whole table, about 120 ms per request (``full_scan_ms()`` stands
in for the scan's cost, so the demo behaves the same on any machine), and ten times that for
the big ``clearance`` category, which makes those page views slow (> 1 s) and so always kept
by the tail sampler.
"""

from __future__ import annotations

import random
import threading
import time

from flask import Flask, jsonify, request
from opentelemetry import trace
from sqlalchemy import create_engine, event, text

from spanhouse.demo.shop import ShopConfig
from spanhouse.demo.tracing import setup_tracing

CATEGORIES = ("books", "games", "garden", "kitchen", "music", "clearance")
SCAN_MS = {"clearance": 1200}
DEFAULT_SCAN_MS = 120
PRODUCTS_PER_CATEGORY = 40

LIST_PRODUCTS = text(
    "SELECT p.id, p.name, p.price, p.stock FROM products AS p "
    "WHERE p.category = :category AND (SELECT full_scan_ms(:scan_ms)) >= 0 "
    "ORDER BY p.price")
CHECK_STOCK = text("SELECT id, stock FROM products WHERE id = :product_id")


def _full_scan_ms(ms: float) -> int:
    time.sleep(float(ms) / 1000)
    return 0


def create_engine_for(path: str):
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _register(dbapi_connection, _record):
        dbapi_connection.create_function("full_scan_ms", 1, _full_scan_ms)

    return engine


def _seed(engine) -> None:
    rng = random.Random(7)
    with engine.begin() as db:
        db.execute(text("CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, "
                        "name TEXT, category TEXT, price REAL, stock INTEGER)"))
        if db.execute(text("SELECT count(*) FROM products")).scalar():
            return
        rows = [{"name": f"{category} item {i}", "category": category,
                 "price": round(rng.uniform(3, 120), 2), "stock": 1_000_000}
                for category in CATEGORIES for i in range(1, PRODUCTS_PER_CATEGORY + 1)]
        db.execute(text("INSERT INTO products (name, category, price, stock) "
                        "VALUES (:name, :category, :price, :stock)"), rows)


class Cache:
    """The price-promotion cache: a dict, looked up inside a span of its own."""

    def __init__(self):
        self._data: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._tracer = trace.get_tracer(__name__)

    def get_or_set(self, key: str, make):
        with self._tracer.start_as_current_span("cache get", attributes={"cache.key": key}) as span:
            with self._lock:
                value = self._data.get(key)
                span.set_attribute("cache.hit", value is not None)
                if value is None:
                    value = self._data[key] = make()
            return value


def create_app(config: ShopConfig) -> Flask:
    app = Flask("product-service")
    engine = create_engine_for(config.products_db)
    _seed(engine)
    cache = Cache()

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/products")
    def products():
        category = request.args.get("category", "books")
        with engine.connect() as db:
            rows = db.execute(LIST_PRODUCTS, {"category": category,
                                              "scan_ms": SCAN_MS.get(category, DEFAULT_SCAN_MS)})
            items = [dict(r._mapping) for r in rows]
        promotion = cache.get_or_set(f"promotion:{category}",
                                     lambda: {"percent_off": 10 if category == "clearance" else 0})
        return jsonify(category=category, promotion=promotion, products=items)

    @app.post("/inventory/check")
    def inventory_check():
        items = (request.get_json(silent=True) or {}).get("items", [])
        with engine.connect() as db:
            short = [i["product_id"] for i in items
                     if (db.execute(CHECK_STOCK, {"product_id": i["product_id"]}).first()
                         or (0, 0))[1] < i.get("quantity", 1)]
        if short:
            return jsonify(error="out of stock", product_ids=short), 409
        return jsonify(ok=True)

    setup_tracing("product-service", config.otlp_endpoint, app=app, engine=engine,
                  peers=config.peers)
    return app
