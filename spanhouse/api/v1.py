"""Spanhouse's own query API under ``/api/v1/`` (and its OpenAPI document at ``/openapi.json``).

Each endpoint turns query parameters into a ``QueryAPI`` call (on the thread pool) and answers
``{"data": ..., "query": {the effective parameters}}``; a problem answers
``{"error": {"status": N, "message": "..."}}`` with 400 for a bad parameter (unknown, repeated,
malformed, out of range), 404 for an unknown trace or endpoint and 503 when the store fails
(``v1_http``: the shared error boundary).

Parameters are checked before they reach the query service (``v1_params``): numbers and times
are parsed, limits capped at ``MAX_LIMIT``, and free text (service, operation, attribute keys
and values) follows the policy of every query API (``spanhouse.api.freetext``): quotes and SQL
keywords are accepted, since the query service binds every value as a SQL parameter. The
parameter names of each endpoint are ``PARAMETERS`` (the OpenAPI document is tested against it).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanhouse.api.openapi import document as openapi_document
from spanhouse.api.params import Params
from spanhouse.api.v1_http import BOUNDARY, PREFIX, json_response, json_route
from spanhouse.api.v1_params import (Clock, attribute_text, check_key, check_value, local_now,
                                     name_param, parse_attribute, parse_choice, parse_count,
                                     parse_trace_id, window, window_echo)
from spanhouse.errors import InvalidInput, NotFound
from spanhouse.model.enums import SPAN_KINDS, STATUS_CODES, StatusCode
from spanhouse.query.errors_by_service import origin_first
from spanhouse.query.model import MAX_LIMIT, SORTS, STATUSES, QueryAPI, SearchQuery, rfc3339
from spanhouse.timeparse import now_ns, parse_duration, parse_time

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
DEFAULT_WINDOW = "15m"
DURATION_LEVELS = ("trace", "span")
KIND_NAMES = tuple(kind.lower() for kind in SPAN_KINDS)
STATUS_NAMES = tuple(status.lower() for status in STATUS_CODES)


def parse_limit(params: Params) -> int:
    return parse_count("limit", params.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)


# ------------------------------------------------------------------ results
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
        "error_count": sum(1 for s in spans if s.status_code == StatusCode.ERROR),
        "services": sorted({s.service_name for s in spans}),
        "spans": [span_to_json(s) for s in spans],
    }


# ------------------------------------------------------------------ routes
def routes(query: QueryAPI, clock: Clock | None = None) -> list[Route]:
    """The ``/api/v1`` routes over ``query`` plus ``/openapi.json``.

    ``clock`` (an aware ``datetime`` factory; default: local now) fixes "now" for tests.
    """
    now: Clock = clock or local_now

    async def slowest(request, params):
        start_ns, end_ns = window(params, now)
        service = name_param(params, "service")
        operation = name_param(params, "operation")
        attributes = tuple(parse_attribute(a) for a in params.get_all("attr"))
        limit = parse_limit(params)
        found = await run_in_threadpool(query.slowest, start_ns, end_ns, service=service,
                                        operation=operation, attributes=attributes, limit=limit)
        return [t.to_json() for t in found], {
            **window_echo(params, start_ns, end_ns), "service": service, "operation": operation,
            "attr": [attribute_text(a) for a in attributes], "limit": limit}

    async def errors(request, params):
        start_ns, end_ns = window(params, now)
        found = await run_in_threadpool(query.errors_by_service, start_ns, end_ns)
        return [e.to_json() for e in origin_first(found)], window_echo(params, start_ns, end_ns)

    async def find(request, params):
        key, value = params.get("key"), params.get("value")
        if key is None or value is None:
            raise InvalidInput("find needs key and value (e.g. key=user.id&value=42)")
        check_key("key", key)
        check_value("value", value)
        at_text = params.get("at")
        at_ns = parse_time(at_text, now(), "at") if at_text is not None else now_ns(now())
        window_text = params.get("window") or DEFAULT_WINDOW
        window_ns = parse_duration(window_text, "window")
        limit = parse_limit(params)
        found = await run_in_threadpool(query.find_by_attribute, key, value, at_ns, window_ns,
                                        limit=limit)
        return [t.to_json() for t in found], {
            "key": key, "value": value, "at": rfc3339(at_ns), "window": window_text,
            "start": rfc3339(max(at_ns - window_ns, 0)), "end": rfc3339(at_ns + window_ns),
            "limit": limit}

    async def search(request, params):
        start_ns, end_ns = window(params, now)
        service = name_param(params, "service")
        operation = name_param(params, "operation")
        attributes = tuple(parse_attribute(a) for a in params.get_all("attr"))
        status = parse_choice("status", params.get("status"), STATUSES)
        level = parse_choice("duration_level", params.get("duration_level"), DURATION_LEVELS,
                             "trace")
        min_text, max_text = params.get("min_duration"), params.get("max_duration")
        min_ns = parse_duration(min_text, "min_duration") if min_text is not None else None
        max_ns = parse_duration(max_text, "max_duration") if max_text is not None else None
        if min_ns is not None and max_ns is not None and min_ns > max_ns:
            raise InvalidInput("min_duration is greater than max_duration")
        sort = parse_choice("sort", params.get("sort"), SORTS, "recent")
        limit = parse_limit(params)
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
        found = sorted(found, key=lambda d: (-d.calls, d.parent, d.child, d.kind))
        return [d.to_json() for d in found], window_echo(params, start_ns, end_ns)

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document())

    async def unknown(request: Request) -> Response:
        raise NotFound(f"no endpoint {request.url.path} (see /openapi.json)")

    handlers = {"slowest": slowest, "errors": errors, "find": find, "search": search,
                "traces/{trace_id}": trace, "dependencies": dependencies}
    return [*(json_route(f"{PREFIX}/{name}", PARAMETERS[f"{PREFIX}/{name}"], handler, REPEATABLE)
              for name, handler in handlers.items()),
            BOUNDARY.route("/openapi.json", openapi),
            BOUNDARY.route(PREFIX + "/{rest:path}", unknown, methods=None)]
