"""``GET /api/v1/doctor``: the trace doctor (``spanhouse.analysis.doctor``) over HTTP.

Parameters: the window (``since=1h``, or ``start``/``end``, as the other ``/api/v1``
endpoints; default the last hour) and ``key`` (repeatable): the business keys entry spans are
checked for (default ``user.id``, ``order.id``, ``tenant.id``; keys other services carry are
learned on top). Answers ``{"data": DoctorReport.to_json(), "query": {...}}``; errors are
``{"error": {"status", "message"}}``: 400 for a bad or unknown parameter, 503 when the store
fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from spanhouse.analysis.doctor import (DEFAULT_BUSINESS_KEYS, MAX_BUSINESS_KEYS, DoctorOptions,
                                       run_doctor)
from spanhouse.analysis.store import AnalysisStore
from spanhouse.api.params import Params
from spanhouse.api.v1_http import PREFIX, json_route
from spanhouse.api.v1_params import Clock, check_key, local_now, window, window_echo
from spanhouse.errors import InvalidInput
from spanhouse.timeparse import parse_duration

PATH = f"{PREFIX}/doctor"
PARAMETERS = ("since", "start", "end", "key", "settle")
REPEATABLE = frozenset({"key"})


def parse_keys(values: list[str]) -> tuple[str, ...]:
    """The business keys, each an attribute key under the free-text policy of every query API;
    what the doctor further asks of a business key (no spaces or quotes: a typing mistake) it
    checks itself, and its ``InvalidInput`` is a 400 as well."""
    if not values:
        return DEFAULT_BUSINESS_KEYS
    if len(values) > MAX_BUSINESS_KEYS:
        raise InvalidInput(f"key: at most {MAX_BUSINESS_KEYS} business keys")
    return tuple(dict.fromkeys(check_key("key", v) for v in values))


def routes(store: AnalysisStore, clock: Clock | None = None,
           runner: Callable | None = None) -> list[Route]:
    """``GET /api/v1/doctor`` over ``store``. ``clock`` (an aware ``datetime`` factory) fixes
    "now" for tests; ``runner`` replaces ``run_doctor`` (tests)."""
    now: Clock = clock or local_now
    doctor = runner or run_doctor

    async def handler(request: Request, params: Params) -> tuple[dict, dict]:
        start_ns, end_ns = window(params, now)
        keys = parse_keys(params.get_all("key"))
        options = DoctorOptions(business_keys=keys)
        settle = params.get("settle")
        if settle is not None:  # how old a span must be before a missing relative counts
            options = replace(options, settle_ns=parse_duration(settle, "settle"))
        report = await run_in_threadpool(doctor, store, start_ns, end_ns, options)
        query = {**window_echo(params, start_ns, end_ns), "key": list(keys)}
        if settle is not None:
            query["settle"] = settle
        return report.to_json(), query

    return [json_route(PATH, PARAMETERS, handler, REPEATABLE)]
