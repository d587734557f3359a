"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/openapi.json``).

Hand-written on purpose: it is documentation first. ``tests/api/test_v1.py`` checks that every
``/api/v1`` route appears here with exactly the parameters the route accepts.
"""

from __future__ import annotations

import copy

from spanhouse.api.freetext import MAX_NAME, MAX_VALUE
from spanhouse.query.model import MAX_LIMIT, SORTS, STATUSES

_TIME = ("An RFC 3339 time (2026-11-24T10:31:00Z, offsets allowed; without an offset: the "
         "server's local time), HH:MM (today, the server's local time), a relative time "
         "(10m ago) or now.")
_DURATION = "A Go duration: 250ms, 15m, 1h30m."
# the free-text policy of every query API (spanhouse.api.freetext)
_NAME = f"At most {MAX_NAME} characters, no control characters."
_VALUE = f"At most {MAX_VALUE} characters, no NUL; may span lines."
_BOUND = ("Quotes and SQL keywords are plain text (every value is bound, never spliced into "
          "SQL); text breaking these rules is a 400.")


def _param(name: str, description: str, schema: dict | None = None, required: bool = False,
           where: str = "query", **extra) -> dict:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}, **extra}


_WINDOW = [
    _param("since", f"The window is the last `since` (default 1h). {_DURATION} "
           "Excludes `start`.", example="1h"),
    _param("start", f"Start of the window (instead of `since`). {_TIME}",
           example="2026-11-24T10:00:00Z"),
    _param("end", f"End of the window (default now). {_TIME}", example="2026-11-24T11:00:00Z"),
]
_SERVICE = _param("service", f"Only traces with a span of this service. {_NAME} {_BOUND}",
                  example="checkout")
_OPERATION = _param("operation", f"Only traces with a span of this name. {_NAME} {_BOUND}",
                    example="POST /orders")
_ATTR = _param(
    "attr", "A span (or resource) attribute filter, repeatable (ANDed): `key=value` (equals), "
    "`key` (present) or `key~regex` (RE2). The key (up to the first `=` or `~`) is not empty: "
    f"{_NAME} The value: {_VALUE} {_BOUND}", {"type": "array", "items": {"type": "string"}}, style="form", explode=True,
    example=["http.response.status_code=500"])
_LIMIT = _param("limit", f"At most this many results (default 20, at most {MAX_LIMIT}).",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20})


def _ok(description: str, data: dict, query_props: dict) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": ["data", "query"],
        "properties": {"data": data,
                       "query": {"type": "object", "description": "The effective parameters.",
                                 "properties": query_props}}}}}}}


def _err(*codes: str) -> dict:
    text = {"400": "A bad parameter: unknown, repeated, malformed or out of range.",
            "404": "Unknown trace.",
            "503": "The store failed; retry later."}
    return {code: {"description": text[code], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


_S = {"type": "string"}
_NS = {"type": ["string", "null"]}
_WINDOW_ECHO = {"start": {**_S, "format": "date-time"}, "end": {**_S, "format": "date-time"},
                "since": {**_S, "description": "Present when the window came from `since`."}}
_SUMMARY_ECHO = {**_WINDOW_ECHO, "service": _NS, "operation": _NS,
                 "attr": {"type": "array", "items": _S}, "limit": {"type": "integer"}}

_SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": _S}}}},
    "TraceSummary": {
        "type": "object",
        "required": ["trace_id", "root_service", "root_operation", "start", "duration_ms",
                     "span_count", "error_count", "services"],
        "properties": {
            "trace_id": {**_S, "description": "32 lowercase hex digits."},
            "root_service": _S, "root_operation": _S,
            "start": {**_S, "format": "date-time", "description": "Earliest span start (UTC)."},
            "duration_ms": {"type": "number", "description":
                            "The root span's duration, else last end - first start."},
            "span_count": {"type": "integer"}, "error_count": {"type": "integer"},
            "services": {"type": "array", "items": _S},
            "estimated_count": {"type": "number", "description":
                                "How many traces this one stands for after sampling."}}},
    "ServiceErrors": {
        "type": "object",
        "properties": {
            "service": _S, "error_spans": {"type": "integer"},
            "error_traces": {"type": "integer"}, "requests": {"type": "integer"},
            "error_rate": {"type": "number", "description":
                           "Stored error requests / stored requests (see the estimate)."},
            "estimated_error_spans": {"type": "number"},
            "estimated_requests": {"type": "number"},
            "estimated_error_rate": {"type": "number", "description":
                                     "The headline: estimated error requests / requests."},
            "estimated_error_requests": {"type": "number"},
            "origin_spans": {"type": "integer", "description":
                             "Error spans none of whose children is an error."},
            "role": {"enum": ["origin", "propagates", "both"]},
            "top_messages": {"type": "array", "items": {"type": "object", "properties": {
                "message": _S, "estimated_count": {"type": "number"},
                "count": {"type": "integer"}}}},
            "top_operations": {"type": "array", "items": {"type": "object", "properties": {
                "operation": _S, "label": _S, "route": _S, "peer": _S,
                "estimated_count": {"type": "number"}, "count": {"type": "integer"}}}},
            "series": {"type": "array", "description": "Errors over time: every bucket.",
                       "items": {"type": "object", "properties": {
                           "t": {**_S, "format": "date-time"}, "t_ns": {"type": "integer"},
                           "errors": {"type": "number"}, "error_spans": {"type": "number"},
                           "requests": {"type": "number"}}}},
            "series_step_ms": {"type": "integer"}}},
    "Dependency": {
        "type": "object", "required": ["parent", "child", "callCount", "errorCount"],
        "properties": {"parent": _S, "child": _S,
                       "kind": {"enum": ["call", "context_lost"]},
                       "calls": {"type": "number", "description": "Estimated calls."},
                       "errors": {"type": "number", "description": "Estimated error calls."},
                       "error_rate": {"type": "number"},
                       "p50_ms": {"type": ["number", "null"]},
                       "p95_ms": {"type": ["number", "null"]},
                       "stored_calls": {"type": "integer"},
                       "stored_errors": {"type": "integer"},
                       "peer": {"type": ["string", "null"]},
                       "callCount": {"type": "integer", "description": "= stored_calls."},
                       "errorCount": {"type": "integer", "description": "= stored_errors."}}},
    "Span": {
        "type": "object",
        "properties": {
            "trace_id": _S, "span_id": _S,
            "parent_span_id": {**_S, "description": "Empty for a root span."},
            "service": _S, "name": _S,
            "kind": {"enum": ["unspecified", "internal", "server", "client", "producer",
                              "consumer"]},
            "start": {**_S, "format": "date-time"}, "start_ns": {"type": "integer"},
            "duration_ms": {"type": "number"}, "duration_ns": {"type": "integer"},
            "status": {"type": "object", "properties": {"code": {"enum": list(STATUSES)},
                                                        "message": _S}},
            "attributes": {"type": "object", "description":
                           "Typed values; bytes as base64 strings."},
            "resource_attributes": {"type": "object"},
            "scope": {"type": "object", "properties": {"name": _S, "version": _S}},
            "events": {"type": "array", "items": {"type": "object", "properties": {
                "time": {**_S, "format": "date-time"}, "time_ns": {"type": "integer"},
                "name": _S, "attributes": {"type": "object"}}}},
            "links": {"type": "array", "items": {"type": "object", "properties": {
                "trace_id": _S, "span_id": _S, "trace_state": _S,
                "attributes": {"type": "object"}}}},
            "trace_state": _S, "flags": {"type": "integer"},
            "adjusted_count": {"type": "number", "description":
                               "How many spans this one stands for after sampling."},
            "sampling_policy": {**_S, "description": "The tail-sampling policy that kept it."}}},
    "Trace": {
        "type": "object",
        "properties": {
            "trace_id": _S, "start": {**_S, "format": "date-time"},
            "duration_ms": {"type": "number"}, "span_count": {"type": "integer"},
            "error_count": {"type": "integer"}, "services": {"type": "array", "items": _S},
            "spans": {**_list("Span"), "description": "Ordered by start time."}}},
}

_PATHS = {
    "/api/v1/slowest": {"get": {
        "summary": "The slowest traces in a window",
        "description": "Traces that started in the window, slowest first (trace duration).",
        "operationId": "slowest",
        "parameters": [*_WINDOW, _SERVICE, _OPERATION, _ATTR, _LIMIT],
        "responses": {**_ok("Trace summaries, slowest first.", _list("TraceSummary"),
                            _SUMMARY_ECHO), **_err("400", "503")}}},
    "/api/v1/errors": {"get": {
        "summary": "Errors grouped by service",
        "description": "Per service with error spans in the window, most error spans first; "
                       "`role` tells whether the service originates errors or propagates them.",
        "operationId": "errors",
        "parameters": list(_WINDOW),
        "responses": {**_ok("Per-service error counts.", _list("ServiceErrors"), _WINDOW_ECHO),
                      **_err("400", "503")}}},
    "/api/v1/find": {"get": {
        "summary": "Traces by attribute around a time",
        "description": "Traces with a span (or resource) attribute `key` equal to `value` that "
                       "started within `at` ± `window`, nearest to `at` first.",
        "operationId": "find",
        "parameters": [
            _param("key", f"The attribute key (not empty). {_NAME} {_BOUND}", required=True,
                   example="user.id"),
            _param("value", f"The attribute value. {_VALUE} {_BOUND}", required=True,
                   example="u-42"),
            _param("at", f"Around this time (default now). {_TIME}", example="10:31"),
            _param("window", f"How far either side of `at` (default 15m). {_DURATION}",
                   example="15m"),
            _LIMIT],
        "responses": {**_ok("Trace summaries, nearest to `at` first.", _list("TraceSummary"), {
            "key": _S, "value": _S, "at": {**_S, "format": "date-time"}, "window": _S,
            "start": {**_S, "format": "date-time"}, "end": {**_S, "format": "date-time"},
            "limit": {"type": "integer"}}), **_err("400", "503")}}},
    "/api/v1/search": {"get": {
        "summary": "Search traces",
        "description": "Traces matching every given filter in the window (default the last "
                       "hour), in `sort` order.",
        "operationId": "search",
        "parameters": [
            _SERVICE, _OPERATION, _ATTR,
            _param("status", "Only traces with a span of this status.",
                   {"enum": list(STATUSES)}),
            _param("min_duration", f"Shortest duration. {_DURATION}", example="500ms"),
            _param("max_duration", f"Longest duration. {_DURATION}", example="10s"),
            _param("duration_level", "`trace` (default): the trace's duration is in range; "
                   "`span`: some span matching service/operation is.",
                   {"enum": ["trace", "span"], "default": "trace"}),
            *_WINDOW, _LIMIT,
            _param("sort", "Result order (default recent).",
                   {"enum": list(SORTS), "default": "recent"})],
        "responses": {**_ok("Trace summaries.", _list("TraceSummary"), {
            **_SUMMARY_ECHO, "status": _NS, "min_duration": _NS, "max_duration": _NS,
            "duration_level": _S, "sort": _S}), **_err("400", "503")}}},
    "/api/v1/traces/{trace_id}": {"get": {
        "summary": "One trace",
        "description": "Every span of the trace, ordered by start time.",
        "operationId": "trace",
        "parameters": [_param("trace_id", "Up to 32 hex digits (shorter ids are zero-padded).",
                              {"type": "string", "pattern": "^[0-9a-fA-F]{1,32}$"},
                              required=True, where="path")],
        "responses": {**_ok("The trace.", _ref("Trace"), {"trace_id": _S}),
                      **_err("400", "404", "503")}}},
    "/api/v1/dependencies": {"get": {
        "summary": "Service dependencies",
        "description": "Service-to-service calls in the window (parent span's service -> "
                       "child span's service).",
        "operationId": "dependencies",
        "parameters": list(_WINDOW),
        "responses": {**_ok("Edges of the service graph.", _list("Dependency"), _WINDOW_ECHO),
                      **_err("400", "503")}}},
}

_OBJECT = {"type": "object", "description": "See docs/api.md for the fields."}
_ANALYSES = {
    "/api/v1/bottleneck/{trace_id}": {"get": {
        "summary": "The bottleneck of one trace",
        "description": "The critical path (walk back from the end through the last-finishing "
                       "child; consumer spans after a producer do not block their parent), each "
                       "span's self time, the request's path service by service and the span "
                       "contributing most to the critical path, with its share of the request.",
        "operationId": "traceBottleneck",
        "parameters": [_param("trace_id", "32 hex digits.", required=True, where="path")],
        "responses": {**_ok("The trace's bottleneck.", _OBJECT, {"trace_id": _S}),
                      **_err("400", "404", "503")}}},
    "/api/v1/bottleneck": {"get": {
        "summary": "Bottlenecks of an endpoint",
        "description": "For an endpoint (root service + operation): which service/operation "
                       "contributes most critical-path time at the median and p95, against the "
                       "previous window of the same length.",
        "operationId": "endpointBottleneck",
        "parameters": [_param("endpoint", "`SERVICE OPERATION`, e.g. `api-gateway GET /checkout` "
                              "(or give `service` and `operation`)."),
                       _param("service", "The endpoint's root service."),
                       _param("operation", "The endpoint's root operation."),
                       _param("max_traces", "At most this many traces per window (default 2000).",
                              {"type": "integer", "minimum": 1}), *_WINDOW],
        "responses": {**_ok("Operations ranked by median critical-path time.", _OBJECT, _WINDOW_ECHO),
                      **_err("400", "503")}}},
    "/api/v1/doctor": {"get": {
        "summary": "The trace doctor",
        "description": "Findings about instrumentation mistakes (context not propagated, "
                       "unlinked async hops, missing business context, sampling, clock skew, "
                       "bad durations, huge traces, high-cardinality span names), each with "
                       "`estimated_count` (the estimate under sampling: the sum of the "
                       "offending spans' or traces' AdjustedCount; equal to `count` for "
                       "distinct span names, which are not sampled), `count` (stored), the "
                       "offending services, example trace ids and the fix.",
        "operationId": "doctor",
        "parameters": [*_WINDOW, _param("key", "A business key users search by (repeatable; "
                                        "default user.id, order.id, tenant.id).",
                                        {"type": "array", "items": _S}, style="form", explode=True),
                       _param("settle", "Spans younger than this are not judged for a missing "
                              "parent, child or link (they may still be on their way; default "
                              f"2m). {_DURATION}", example="0s")],
        "responses": {**_ok("The doctor's report.", _OBJECT, _WINDOW_ECHO), **_err("400", "503")}}},
    "/api/v1/compare": {"get": {
        "summary": "What is different about slow or failing traces",
        "description": "Attribute values over-represented in a selection (`duration>p95`, "
                       "`duration>1.5s`, `error`) against the rest of the window, weighted by "
                       "adjusted counts.",
        "operationId": "compare",
        "parameters": [_param("where", "`duration>pNN`, `duration>DURATION` or `error`.",
                              required=True), _SERVICE, _OPERATION, *_WINDOW,
                       _param("limit", "At most this many attribute values (default 10).",
                              {"type": "integer", "minimum": 1, "maximum": 1000})],
        "responses": {**_ok("Ranked attribute values.", _OBJECT, _WINDOW_ECHO), **_err("400", "503")}}},
}
_PATHS.update(_ANALYSES)

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Spanhouse API",
        "version": "1",
        "description": "Spanhouse's own query API. Every answer is `{\"data\": ..., \"query\": "
                       "{effective parameters}}`; every error is `{\"error\": {\"status\", "
                       "\"message\"}}`. Unknown parameters are refused (400). The Jaeger APIs "
                       "(`/api/traces`, `/api/v3`) live beside it on the same port."},
    "paths": _PATHS,
    "components": {"schemas": _SCHEMAS},
}


def document() -> dict:
    """A fresh copy of the OpenAPI document."""
    return copy.deepcopy(OPENAPI)
