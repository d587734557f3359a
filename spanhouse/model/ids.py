"""Trace and span ids as text: the one grammar every boundary accepts.

Stored ids are lower-case hex (32 digits for a trace, 16 for a span), as the collector's
ClickHouse exporter writes them. Readers accept 1 to 32 hex digits for a trace id, in any case:
Jaeger shortens ids whose high 64 bits are zero to 16 digits and drops leading zeros
(``model.TraceIDFromString``); the left-padded, lower-case form is the stored one.
"""

from __future__ import annotations

import re

TRACE_ID_RE = re.compile(r"[0-9a-fA-F]{1,32}")
"""A trace id as readers accept it (use ``fullmatch``)."""
STORED_TRACE_ID_RE = re.compile(r"[0-9a-f]{32}")
"""A trace id as stored (use ``fullmatch``)."""


def normalize_trace_id(text: str) -> str | None:
    """1-32 hex digits -> the stored 32 lower-case digits; None when ``text`` is not one."""
    if not isinstance(text, str) or not TRACE_ID_RE.fullmatch(text):
        return None
    return text.lower().zfill(32)
