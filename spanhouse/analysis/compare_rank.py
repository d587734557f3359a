"""Compare's ranking: signal before noise (``spanhouse.analysis.compare``).

- ``ALIASES``: old semantic-convention keys and the current ones (``http.method`` and
  ``http.request.method``): a value said under both is one row, naming both keys;
- ``is_identifier``: keys or values that name one entity (``service.instance.id``, ``*.id``,
  UUIDs, long hex or digit strings): shown, but ranked after every other row;
- ``rank``: both applied to the over-represented values, best first.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

# Old semantic-convention names -> the current ones: one row when both say the same value.
ALIASES = {
    "http.method": "http.request.method", "http.status_code": "http.response.status_code",
    "http.url": "url.full", "http.scheme": "url.scheme", "http.target": "url.path",
    "http.user_agent": "user_agent.original", "net.peer.name": "server.address",
    "net.peer.port": "server.port", "net.host.name": "server.address",
    "net.host.port": "server.port", "db.system": "db.system.name",
    "db.statement": "db.query.text", "db.operation": "db.operation.name",
    "messaging.destination": "messaging.destination.name",
    "http.client_ip": "client.address", "net.sock.peer.addr": "network.peer.address",
}
# Keys whose values name one process, host or entity: noise when comparing groups.
IDENTIFIER_KEYS = frozenset({
    "service.instance.id", "host.id", "host.name", "container.id", "container.name",
    "k8s.pod.uid", "k8s.pod.name", "process.pid", "process.parent_pid", "thread.id",
    "thread.name", "process.command_line", "process.command_args", "network.peer.port",
    "net.sock.peer.port", "client.port"})
_IDENTIFIER_VALUE = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|\d{6,})$",
    re.IGNORECASE)


def is_identifier(key: str, value: str) -> bool:
    """Whether ``key=value`` names one entity (an id) rather than a kind of request."""
    return (key in IDENTIFIER_KEYS or key.endswith((".id", "_id", ".uid", ".uuid"))
            or bool(_IDENTIFIER_VALUE.match(value)))


def rank(diffs: list) -> list:
    """``AttributeDiff`` rows (``spanhouse.analysis.compare``) with aliases merged (the row with the larger difference stays, naming every key), each row's
    signal set, high signal first, then by difference, lift, key and value."""
    best: dict[tuple[str, str], object] = {}
    keys: dict[tuple[str, str], set[str]] = {}
    order = lambda d: (-d.difference, -(math.inf if d.lift is None else d.lift),  # noqa: E731
                       d.key, d.value)
    for diff in sorted(diffs, key=order):
        same = (ALIASES.get(diff.key, diff.key), diff.value)
        keys.setdefault(same, set()).add(diff.key)
        best.setdefault(same, diff)
    out = [replace(d, merged_keys=tuple(sorted(keys[same])),
                   signal="low" if is_identifier(d.key, d.value) else "high")
           for same, d in best.items()]
    return sorted(out, key=lambda d: (d.signal == "low", *order(d)))
