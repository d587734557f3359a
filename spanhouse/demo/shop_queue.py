"""The shop's message queue: a table in a SQLite file that the order service writes to and the
email worker reads from (two processes, a real hand-off).

A message is ``(headers, body)``, both JSON. The trace context travels in ``headers``, put
there with ``opentelemetry.propagate.inject`` by the producer and read back with ``extract``
by the consumer, exactly as a Kafka or RabbitMQ client's headers would carry it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

_SCHEMA = ("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, "
           "queue TEXT NOT NULL, headers TEXT NOT NULL, body TEXT NOT NULL, "
           "enqueued_at REAL NOT NULL)")


def _connect(path: str | Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def create(path: str | Path) -> None:
    with _connect(path) as connection:
        connection.execute(_SCHEMA)


def publish(path: str | Path, queue: str, headers: dict, body: dict) -> None:
    connection = _connect(path)
    try:
        connection.execute("INSERT INTO messages (queue, headers, body, enqueued_at) "
                           "VALUES (?, ?, ?, ?)",
                           (queue, json.dumps(headers), json.dumps(body), time.time()))
    finally:
        connection.close()


def take(path: str | Path, queue: str, limit: int = 10) -> list[tuple[dict, dict]]:
    """Remove and return up to ``limit`` of the oldest messages of ``queue``."""
    connection = _connect(path)
    try:
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute(
            "SELECT id, headers, body FROM messages WHERE queue = ? ORDER BY id LIMIT ?",
            (queue, limit)).fetchall()
        if rows:
            connection.executemany("DELETE FROM messages WHERE id = ?", [(r[0],) for r in rows])
        connection.execute("COMMIT")
    finally:
        connection.close()
    return [(json.loads(headers), json.loads(body)) for _, headers, body in rows]
