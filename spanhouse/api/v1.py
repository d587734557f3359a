"""Spanhouse's own query API under ``/api/v1/`` (and its OpenAPI document at ``/openapi.json``).

Each endpoint turns query parameters into a ``QueryAPI`` call (on the thread pool) and answers
``{"data": ..., "query": {the effective parameters}}``; a problem answers
``{"error": {"status": N, "message": "..."}}`` with 400 for a bad parameter (unknown, repeated,
malformed, out of range), 404 for an unknown trace or endpoint and 503 when the store fails.

Parameters are checked here before they reach the query service: numbers and times are parsed,
limits capped at ``MAX_LIMIT``, and text (service, operation, attribute keys and values) is
refused when it holds quotes or control characters or is too long. The query service binds
every value as a SQL parameter anyway; refusing early keeps error messages clear. The parameter
names of each endpoint are ``PARAMETERS`` (the OpenAPI document is tested against it).
"""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import re
from collections import defaultdict
from typing import Any, Awaitable, Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.openapi import document as openapi_document
from spanhouse.errors import InvalidInput, NotFound, StoreError
from spanhouse.query.model import (MAX_LIMIT, SORTS, STATUSES, AttributeFilter, QueryAPI,
                                   SearchQuery, rfc3339)
from spanhouse.timeparse import now_ns, parse_duration, parse_time, resolve_window

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
_WINDOW = ("since", "start", "end")
PARAMETERS: dict[str, tuple[str, ...]] = {
    f"{PREFIX}/slowest": (*_WINDOW, "service", "operation", "attr", "limit"),
    f"{PREFIX}/errors": _WINDOW,
    f"{PREFIX}/find": ("key", "value", "at", "window", "limit"),
    f"{PREFIX}/search": ("service", "operation", "attr", "status", "min_duration", "max_duration",
                         "duration_level", *_WINDOW, "limit", "sort"),
    f"{PREFIX}/traces/{{trace_id}}": (),
    f"{PREFIX}/dependencies": _WINDOW,
}
REPEATABLE = frozenset({"attr"})
DEFAULT_LIMIT = 20
DEFAULT_SINCE = "1h"
DEFAULT_WINDOW = "15m"
DURATION_LEVELS = ("trace", "span")
KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")

MAX_TEXT = 1024
MAX_KEY = 256
_FORBIDDEN = re.compile(r"['\"`\x00-\x1f\x7f]")
_KEY = re.compile(r"^[^\s'\"`\\=~\x00-\x1f\x7f]+$")
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
_LIMIT = re.compile(r"^\d{1,9}$")
# RE2 (ClickHouse's match()) has no look-around and no back-references.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")

Clock = Callable[[], _dt.datetime]


# ------------------------------------------------------------------ parameters
class Params:
    """The query parameters of one request, checked against the endpoint's accepted names."""

    def __init__(self, items: list[tuple[str, str]], accepted: tuple[str, ...],
                 repeatable: frozenset[str] = REPEATABLE):
        unknown = sorted({key for key, _ in items if key not in accepted})
        if unknown:
            names = ", ".join(repr(key[:64]) for key in unknown[:10])
            allowed = ", ".join(accepted) if accepted else "none"
            raise InvalidInput(f"unknown parameter{'s' if len(unknown) > 1 else ''} {names} "
                               f"(accepted: {allowed})")
        self._values: dict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._values[key].append(value)
        for key, values in self._values.items():
            if len(values) > 1 and key not in repeatable:
                raise InvalidInput(f"{key}: given {len(values)} times; give it once")

    def get(self, name: str) -> str | None:
        """The value, or None when absent or empty."""
        values = self._values.get(name)
        return values[0] if values and values[0] != "" else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))


def check_text(name: str, value: str | None, max_len: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if len(value) > max_len:
        raise InvalidInput(f"{name}: longer than {max_len} characters")
    if _FORBIDDEN.search(value):
        raise InvalidInput(f"{name}: quotes and control characters are not accepted")
    return value


def check_key(name: str, value: str) -> str:
    if not value:
        raise InvalidInput(f"{name}: the attribute key is empty")
    if len(value) > MAX_KEY:
        raise InvalidInput(f"{name}: an attribute key is at most {MAX_KEY} characters")
    if not _KEY.match(value):
        raise InvalidInput(f"{name}: an attribute key may not hold spaces, quotes, backslashes, "
                           "'=', '~' or control characters")
    return value


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not _LIMIT.match(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(f"limit: expected a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def parse_attribute(text: str) -> AttributeFilter:
    """``k=v`` (equals), ``k`` (exists) or ``k~regex`` (RE2 match)."""
    if not text:
        raise InvalidInput("attr: empty; expected key=value, key (exists) or key~regex")
    cut = min((i for i in (text.find("="), text.find("~")) if i >= 0), default=-1)
    if cut < 0:
        return AttributeFilter(check_key("attr", text), "", "exists")
    key, op, value = text[:cut], text[cut], text[cut + 1:]
    check_key("attr", key)
    check_text(f"attr {key}", value)
    if op == "=":
        return AttributeFilter(key, value, "eq")
    if not value:
        raise InvalidInput(f"attr {key}: the regular expression after '~' is empty")
    if _NOT_RE2.search(value):
        raise InvalidInput(f"attr {key}: look-arounds and back-references are not supported (RE2)")
    try:
        re.compile(value)
    except re.error as exc:
        raise InvalidInput(f"attr {key}: not a regular expression: {exc}") from None
    return AttributeFilter(key, value, "regex")


def attribute_text(flt: AttributeFilter) -> str:
    return {"eq": f"{flt.key}={flt.value}", "exists": flt.key, "regex": f"{flt.key}~{flt.value}"}[flt.op]


def parse_choice(name: str, value: str | None, choices: tuple[str, ...], default=None):
    if value is None:
        return default
    if value not in choices:
        raise InvalidInput(f"{name}: expected one of {', '.join(choices)}")
    return value


def parse_trace_id(text: str) -> str:
    """1 to 32 hex digits (Jaeger shortens ids with zero high bits to 16) -> 32 lowercase."""
    if not _TRACE_ID.match(text):
        raise InvalidInput("trace_id: expected up to 32 hexadecimal digits")
    return text.lower().zfill(32)


def window(params: Params, clock: Clock) -> tuple[int, int]:
    return resolve_window(params.get("since"), params.get("start"), params.get("end"),
                          now=clock(), default_since=DEFAULT_SINCE)


def window_echo(params: Params, start_ns: int, end_ns: int) -> dict:
    echo = {"start": rfc3339(start_ns), "end": rfc3339(end_ns)}
    if params.get("start") is None:
        echo["since"] = params.get("since") or DEFAULT_SINCE
    return echo


# ------------------------------------------------------------------ results
def _json_default(value: Any):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError


def json_response(payload, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload, default=_json_default), status_code=status_code,
                    media_type="application/json")


def error_response(status_code: int, message: str) -> Response:
    return json_response({"error": {"status": status_code, "message": message}}, status_code)


def _name(names: tuple[str, ...], code: int) -> str:
    return names[code] if 0 <= code < len(names) else str(code)


def span_to_json(span) -> dict:
    """One ``SpanRecord`` as ``/api/v1/traces/{id}`` shows it."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "service": span.service_name,
        "name": span.name,
        "kind": _name(KIND_NAMES, span.kind),
        "start": rfc3339(span.start_ns),
        "start_ns": span.start_ns,
        "duration_ms": round(span.duration_ns / 1e6, 3),
        "duration_ns": span.duration_ns,
        "status": {"code": _name(STATUS_NAMES, span.status_code), "message": span.status_message},
        "attributes": span.attributes,
        "resource_attributes": span.resource_attributes,
        "scope": {"name": span.scope_name, "version": span.scope_version},
        "events": [{"time": rfc3339(e.time_ns), "time_ns": e.time_ns, "name": e.name,
                    "attributes": e.attributes} for e in span.events],
        "links": [{"trace_id": link.trace_id, "span_id": link.span_id,
                   "trace_state": link.trace_state, "attributes": link.attributes}
                  for link in span.links],
        "trace_state": span.trace_state,
        "flags": span.flags,
        "adjusted_count": span.adjusted_count,
        "sampling_policy": span.sampling_policy,
    }


def trace_to_json(trace_id: str, spans: list) -> dict:
    """The spans (by start time) with the trace's summary fields (query/model.py conventions)."""
    spans = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    start = spans[0].start_ns
    roots = [s for s in spans if not s.parent_span_id]
    duration = roots[0].duration_ns if roots else max(s.end_ns for s in spans) - start
    return {
        "trace_id": trace_id,
        "start": rfc3339(start),
        "duration_ms": round(duration / 1e6, 3),
        "span_count": len(spans),
        "error_count": sum(1 for s in spans if s.status_code == 2),
        "services": sorted({s.service_name for s in spans}),
        "spans": [span_to_json(s) for s in spans],
    }


# ------------------------------------------------------------------ routes
Handler = Callable[[Request, Params], Awaitable[tuple[Any, dict]]]


def json_route(path: str, accepted: tuple[str, ...], handler: Handler,
               repeatable: frozenset[str] = REPEATABLE) -> Route:
    """A GET route whose ``handler(request, params)`` returns ``(data, query)``: the one
    boundary where errors become JSON (400 bad input, 404 not found, 503 store, 500 other)."""

    async def endpoint(request: Request) -> Response:
        try:
            params = Params(request.query_params.multi_items(), accepted, repeatable)
            data, query = await handler(request, params)
        except InvalidInput as exc:
            return error_response(400, str(exc))
        except NotFound as exc:
            return error_response(404, str(exc))
        except StoreError as exc:
            return error_response(503, str(exc))
        except Exception:  # the boundary: a JSON 500, never a traceback to the client
            log.exception("GET %s failed", request.url.path)
            return error_response(500, "internal error (see the server log)")
        return json_response({"data": data, "query": query})

    return Route(path, endpoint, methods=["GET"])


def _endpoint(path: str, handler: Handler) -> Route:
    return json_route(path, PARAMETERS[path], handler)


def routes(query: QueryAPI, clock: Clock | None = None) -> list[Route]:
    """The ``/api/v1`` routes over ``query`` plus ``/openapi.json``.

    ``clock`` (an aware ``datetime`` factory; default: local now) fixes "now" for tests.
    """
    now: Clock = clock or (lambda: _dt.datetime.now().astimezone())

    async def slowest(request, params):
        start_ns, end_ns = window(params, now)
        service = check_text("service", params.get("service"))
        operation = check_text("operation", params.get("operation"))
        attributes = tuple(parse_attribute(a) for a in params.all("attr"))
        limit = parse_limit(params.get("limit"))
        found = await run_in_threadpool(query.slowest, start_ns, end_ns, service=service,
                                        operation=operation, attributes=attributes, limit=limit)
        return [t.to_json() for t in found], {
            **window_echo(params, start_ns, end_ns), "service": service, "operation": operation,
            "attr": [attribute_text(a) for a in attributes], "limit": limit}

    async def errors(request, params):
        start_ns, end_ns = window(params, now)
        found = await run_in_threadpool(query.errors_by_service, start_ns, end_ns)
        return [e.to_json() for e in found], window_echo(params, start_ns, end_ns)

    async def find(request, params):
        key, value = params.get("key"), params.get("value")
        if key is None or value is None:
            raise InvalidInput("find needs key and value (e.g. key=user.id&value=42)")
        check_key("key", key)
        check_text("value", value)
        at_text = params.get("at")
        at_ns = parse_time(at_text, now(), "at") if at_text is not None else now_ns(now())
        window_text = params.get("window") or DEFAULT_WINDOW
        window_ns = parse_duration(window_text, "window")
        limit = parse_limit(params.get("limit"))
        found = await run_in_threadpool(query.find_by_attribute, key, value, at_ns, window_ns,
                                        limit=limit)
        return [t.to_json() for t in found], {
            "key": key, "value": value, "at": rfc3339(at_ns), "window": window_text,
            "start": rfc3339(max(at_ns - window_ns, 0)), "end": rfc3339(at_ns + window_ns),
            "limit": limit}

    async def search(request, params):
        start_ns, end_ns = window(params, now)
        service = check_text("service", params.get("service"))
        operation = check_text("operation", params.get("operation"))
        attributes = tuple(parse_attribute(a) for a in params.all("attr"))
        status = parse_choice("status", params.get("status"), STATUSES)
        level = parse_choice("duration_level", params.get("duration_level"), DURATION_LEVELS,
                             "trace")
        min_text, max_text = params.get("min_duration"), params.get("max_duration")
        min_ns = parse_duration(min_text, "min_duration") if min_text is not None else None
        max_ns = parse_duration(max_text, "max_duration") if max_text is not None else None
        if min_ns is not None and max_ns is not None and min_ns > max_ns:
            raise InvalidInput("min_duration is greater than max_duration")
        sort = parse_choice("sort", params.get("sort"), SORTS, "recent")
        limit = parse_limit(params.get("limit"))
        durations = ({"trace_min_duration_ns": min_ns, "trace_max_duration_ns": max_ns}
                     if level == "trace" else
                     {"span_min_duration_ns": min_ns, "span_max_duration_ns": max_ns})
        search_query = SearchQuery(start_ns=start_ns, end_ns=end_ns, service=service,
                                   operation=operation, attributes=attributes, status=status,
                                   limit=limit, sort=sort, **durations)
        found = await run_in_threadpool(query.search, search_query)
        return [t.to_json() for t in found], {
            **window_echo(params, start_ns, end_ns), "service": service, "operation": operation,
            "attr": [attribute_text(a) for a in attributes], "status": status,
            "min_duration": min_text, "max_duration": max_text, "duration_level": level,
            "limit": limit, "sort": sort}

    async def trace(request, params):
        trace_id = parse_trace_id(request.path_params["trace_id"])
        spans = await run_in_threadpool(query.get_trace, trace_id)
        if not spans:
            raise NotFound(f"trace {trace_id} not found")
        return trace_to_json(trace_id, spans), {"trace_id": trace_id}

    async def dependencies(request, params):
        start_ns, end_ns = window(params, now)
        found = await run_in_threadpool(query.dependencies, start_ns, end_ns)
        return [d.to_json() for d in found], window_echo(params, start_ns, end_ns)

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document())

    async def unknown(request: Request) -> Response:
        return error_response(404, f"no endpoint {request.url.path} (see /openapi.json)")

    handlers = {"slowest": slowest, "errors": errors, "find": find, "search": search,
                "traces/{trace_id}": trace, "dependencies": dependencies}
    return [*(_endpoint(f"{PREFIX}/{name}", handler) for name, handler in handlers.items()),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route(PREFIX + "/{rest:path}", unknown)]
