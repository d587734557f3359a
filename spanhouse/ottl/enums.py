"""The enum symbols of the span and span-event contexts (upstream's span symbol table): the
proto names of OTLP's span kinds and status codes, e.g. ``SPAN_KIND_SERVER``, ``STATUS_CODE_ERROR``."""

from __future__ import annotations

from spanhouse.model.enums import SpanKind, StatusCode

ENUMS: dict[str, int] = {
    **{f"SPAN_KIND_{kind.name}": int(kind) for kind in SpanKind},
    **{f"STATUS_CODE_{code.name}": int(code) for code in StatusCode},
}
