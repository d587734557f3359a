"""The one redaction of secrets for everything Spanhouse prints or logs.

``redact(text)`` replaces the password of every URL in ``text`` (``scheme://user:pass@host``)
with ``***``: ``http://spanhouse:***@clickhouse:8123``. Config check, ``serve``'s ``store:``
line, log lines and error messages about the store endpoint all print through it. Tokens and
htpasswd entries are never printed at all: the authenticators describe themselves without them.

This module imports nothing of Spanhouse, so any module may use it without an import cycle.
"""

from __future__ import annotations

import re

# scheme://user:password@ — the password is everything up to the last "@" before the host
# (a password may itself hold "@" or ":" when it was not percent-encoded).
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<secret>[^\s/]*)@")

MASK = "***"


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
