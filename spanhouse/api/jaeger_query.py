"""Query parameters of Jaeger's HTTP APIs -> ``SearchQuery``, with Jaeger's own error messages.

A port of jaegertracing/jaeger ``cmd/jaeger/internal/extension/jaegerquery/internal/
query_parser.go`` (the classic ``/api/traces`` and ``/api/dependencies`` parameters; cases of
its ``query_parser_test.go`` are in ``tests/api/test_jaeger_query_parser.py``), and of the Go
standard library functions it leans on, so that the same input gives the same answer or the same
message:

- ``time.ParseDuration`` (``go_parse_duration``): ``1.2s``, ``-1h30m``, ``300ms``, ``1µs``; no
  unit is an error (``time: missing unit in duration "20"``) except for ``0``;
- ``strconv.ParseInt``/``ParseUint``/``ParseBool``/``Atoi`` (``go_parse_int``, ...): base 10
  digits with an optional sign, no spaces or ``_``; range checked;
- ``model.TraceIDFromString`` (``parse_trace_id``): 1 to 32 hex digits, returned as the 32 lower
  case digits the store uses;
- ``time.Parse(time.RFC3339Nano, ...)`` (``parse_rfc3339``, for api_v3).

``/api/traces`` syntax (upstream's doc comment)::

    service=     operation=     limit=<int>     start=<unix µs>     end=<unix µs>
    minDuration=<Go duration>   maxDuration=<Go duration>
    tag=<key>:<value> (repeated)   tags=<JSON object of strings> (repeated)
    traceID=<hex> (repeated: fetch these traces, the other filters are ignored)   raw=<bool>

Unknown parameters are ignored, as Jaeger does. Validation is Jaeger's plus what a shared
backend needs (each deviation is marked *Spanhouse* below):

- ``service`` is required unless ``traceID`` is given (``parameter 'service' is required``);
- ``maxDuration`` < ``minDuration`` -> ``'maxDuration' should be greater than 'minDuration'``;
- *Spanhouse*: ``start`` after ``end`` -> ``start time must be before end time`` (equal is
  allowed, as upstream's tests query ``start=0&end=0``); negative times or durations, and times
  past 2262 (nanoseconds overflow), are refused (Go would silently wrap them);
- *Spanhouse*: ``limit`` must be within 1..``MAX_LIMIT`` (Go accepts any int32);
- *Spanhouse*: ``lookback`` (which the Jaeger UI sends along with ``start``/``end`` and Jaeger
  ignores) is checked: ``custom``, a Go duration, or the UI's ``2d``/``1w`` forms; when
  ``start`` is absent it sets ``start = end - lookback`` (else the default is 48 h, Jaeger's
  ``traceQueryLookbackDuration``);
- *Spanhouse*: tag keys must not be empty; at most ``MAX_TAGS`` tags; a free-text value
  (service, operation, tag key or value) longer than ``MAX_VALUE_LENGTH`` or holding a NUL
  character is refused, and so are more than ``MAX_TRACE_IDS`` ``traceID`` values. Quotes, semicolons or SQL keywords in free text are *not* refused:
  they are legitimate span data (``db.statement`` values are SQL) and reach the store only as
  bound parameters (``QueryAPI``'s contract); numbers, durations, times, booleans and ids are
  parsed strictly, so any such fragment there is a 400;
- *Spanhouse*: the tags Jaeger's translator derives from the OTLP status are mapped back to
  ``SearchQuery.status``: ``error=true`` -> ``"error"``, ``otel.status_code=ERROR``/``OK`` ->
  ``"error"``/``"ok"`` (the store keeps the status in its own column, not as attributes).

``minDuration``/``maxDuration`` are span-level, as in Jaeger (some span of the trace, matching
service/operation, lasts that long): they fill ``span_min_duration_ns``/``span_max_duration_ns``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from spanhouse.errors import InvalidInput
from spanhouse.query.model import MAX_LIMIT, AttributeFilter, SearchQuery

DEFAULT_QUERY_LIMIT = 100                               # defaultQueryLimit
DEFAULT_TRACE_QUERY_LOOKBACK_NS = 48 * 3600 * 10**9     # defaultTraceQueryLookbackDuration
DEFAULT_DEPENDENCY_LOOKBACK_NS = 24 * 3600 * 10**9      # defaultDependencyLookbackDuration
MAX_TAGS = 64
MAX_TRACE_IDS = 100
MAX_VALUE_LENGTH = 4096
MAX_INT64 = (1 << 63) - 1

# parameter names (query_parser.go / http_handler.go)
SERVICE, OPERATION, TAG, TAGS = "service", "operation", "tag", "tags"
START, END, LIMIT = "start", "end", "limit"
MIN_DURATION, MAX_DURATION = "minDuration", "maxDuration"
TRACE_ID, RAW, SPAN_KIND, LOOKBACK, END_TS = "traceID", "raw", "spanKind", "lookback", "endTs"
PRETTY_PRINT = "prettyPrint"

ERR_SERVICE_REQUIRED = "parameter 'service' is required"
ERR_MAX_LESS_THAN_MIN = "'maxDuration' should be greater than 'minDuration'"
ERR_START_AFTER_END = "start time must be before end time"

# Jaeger's span kinds (as the UI sends them) -> what QueryAPI.operations takes
SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")


class Params:
    """Go's ``url.Values`` view of a query string: ``get`` is the *first* value (Go's
    ``FormValue``; Starlette's ``QueryParams.get`` returns the last), ``getlist`` all of them."""

    def __init__(self, source: Any):
        if isinstance(source, str):
            from urllib.parse import parse_qsl
            pairs = parse_qsl(source.lstrip("?"), keep_blank_values=True)
        elif hasattr(source, "multi_items"):       # starlette QueryParams / MultiDict
            pairs = list(source.multi_items())
        elif isinstance(source, Mapping):
            pairs = [(k, v) for k, vs in source.items()
                     for v in (vs if isinstance(vs, (list, tuple)) else [vs])]
        else:
            pairs = list(source)
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, name: str) -> str:
        values = self._values.get(name)
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))

    def __contains__(self, name: str) -> bool:
        return name in self._values


# ---------------------------------------------------------------------------- Go's strconv
def go_quote(s: str) -> str:
    """``strconv.Quote`` for the messages (printable text as is, ``"`` and ``\\`` escaped)."""
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else
                       f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_DEC = re.compile(r"[+-]?[0-9]+\Z")
_HEX = re.compile(r"[0-9a-fA-F]+\Z")


def go_parse_int(s: str, bits: int = 64, fn: str = "ParseInt") -> int:
    """``strconv.ParseInt(s, 10, bits)``; ``ValueError`` carries Go's message."""
    if not _DEC.match(s):
        raise ValueError(f"strconv.{fn}: parsing {go_quote(s)}: invalid syntax")
    value = int(s)
    if not -(1 << (bits - 1)) <= value <= (1 << (bits - 1)) - 1:
        raise ValueError(f"strconv.{fn}: parsing {go_quote(s)}: value out of range")
    return value


def go_atoi(s: str) -> int:
    """``strconv.Atoi`` (64-bit int)."""
    return go_parse_int(s, 64, "Atoi")


def go_parse_hex_uint64(s: str) -> int:
    """``strconv.ParseUint(s, 16, 64)``."""
    if not _HEX.match(s):
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(s)}: invalid syntax")
    value = int(s, 16)
    if value >= 1 << 64:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(s)}: value out of range")
    return value


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def go_parse_bool(s: str) -> bool:
    """``strconv.ParseBool``."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(s)}: invalid syntax")


# ---------------------------------------------------------------------------- Go's time
def _time_quote(s: str) -> str:
    """``time.quote``: non-ASCII and control bytes as ``\\xNN``, ``"``/``\\`` escaped."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


_UNITS = {
    "ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60 * 1_000_000_000, "h": 3600 * 1_000_000_000,
}
_UI_UNITS = dict(_UNITS, d=24 * 3600 * 1_000_000_000, w=7 * 24 * 3600 * 1_000_000_000)
_OVERFLOW = 1 << 63


def go_parse_duration(s: str, units: Mapping[str, int] = _UNITS) -> int:
    """``time.ParseDuration``: a Go duration string -> nanoseconds (``ValueError`` with Go's
    message). ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+``; ``0`` alone needs no unit."""
    orig = s
    invalid = ValueError("time: invalid duration " + _time_quote(orig))
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        # leadingInt
        i, v = 0, 0
        while i < len(s) and "0" <= s[i] <= "9":
            if v > _OVERFLOW // 10:
                raise invalid
            v = v * 10 + ord(s[i]) - 48
            if v > _OVERFLOW:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        post, f, scale = False, 0, 1.0
        if s and s[0] == ".":
            s = s[1:]
            # leadingFraction
            i, overflow = 0, False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if f > (_OVERFLOW - 1) // 10:
                        overflow = True
                    else:
                        y = f * 10 + ord(s[i]) - 48
                        if y > _OVERFLOW:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError("time: missing unit in duration " + _time_quote(orig))
        unit_name, s = s[:i], s[i:]
        unit = units.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {_time_quote(unit_name)} in duration "
                             f"{_time_quote(orig)}")
        if v > _OVERFLOW // unit:
            raise invalid
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > _OVERFLOW:
                raise invalid
        total += v
        if total > _OVERFLOW:
            raise invalid
    if neg:
        return -total
    if total > MAX_INT64:
        raise invalid
    return total


def go_parse_nonnegative_duration(s: str) -> int:
    """``go_parse_duration`` of a query's duration bound, which both Jaeger query APIs refuse
    when negative (``must not be negative``); raises ``ValueError``."""
    d = go_parse_duration(s)
    if d < 0:
        raise ValueError("must not be negative")
    return d


RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z")


def parse_rfc3339(s: str) -> int:
    """``time.Parse(time.RFC3339Nano, s)`` -> Unix nanoseconds. The message on failure is
    Go's prefix (``parsing time "x" as "2006-...": ...``) with a shorter explanation."""
    m = _RFC3339.match(s)
    if not m:
        raise ValueError(f"parsing time {go_quote(s)} as {go_quote(RFC3339_NANO)}: "
                         "cannot parse as RFC 3339")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    offset = 0
    if zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            raise ValueError(f"parsing time {go_quote(s)}: time zone offset out of range")
        offset = (zh * 3600 + zm * 60) * (-1 if zone[0] == "-" else 1)
    try:
        moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    except ValueError:
        raise ValueError(f"parsing time {go_quote(s)}: day, month or time out of range") from None
    seconds = int(moment.timestamp()) - offset
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0") if frac else 0)


# ---------------------------------------------------------------------------- ids
def parse_trace_id(s: str) -> str:
    """``model.TraceIDFromString``: 1-32 hex digits -> the 32 lower-case hex digits."""
    if len(s) > 32:
        raise ValueError(f"TraceID cannot be longer than 32 hex characters: {s}")
    if len(s) > 16:
        hi_len = len(s) - 16
        hi = go_parse_hex_uint64(s[:hi_len])
        lo = go_parse_hex_uint64(s[hi_len:])
    else:
        hi, lo = 0, go_parse_hex_uint64(s)
    return f"{hi:016x}{lo:016x}"


# ---------------------------------------------------------------------------- the parser
def parse_error(param: str, err: Exception | str) -> InvalidInput:
    """``newParseError``: ``unable to parse param 'x': <cause>``."""
    return InvalidInput(f"unable to parse param '{param}': {err}")


def check_text(param: str, value: str) -> str:
    """*Spanhouse*: bound free text (names, tag keys and values): length and NUL only."""
    if len(value) > MAX_VALUE_LENGTH:
        raise parse_error(param, f"longer than {MAX_VALUE_LENGTH} characters")
    if "\x00" in value:
        raise parse_error(param, "contains a NUL character")
    return value


def check_limit(param: str, value: int) -> int:
    if not 1 <= value <= MAX_LIMIT:
        raise parse_error(param, f"{value} is out of range [1, {MAX_LIMIT}]")
    return value


def _go_json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_string_map(text: str) -> dict[str, str]:
    """``json.Unmarshal`` into ``map[string]string`` (``null`` is an empty map), with Go's
    messages for type mismatches; syntax errors carry Python's description."""
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        raise ValueError(f"json: cannot unmarshal {_go_json_type(decoded)} into Go value of "
                         "type map[string]string")
    out = {}
    for key, value in decoded.items():
        if value is None:   # Go leaves "" for a null element
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"json: cannot unmarshal {_go_json_type(value)} into Go value of "
                             "type string")
        out[key] = value
    return out


def parse_tags(simple: Sequence[str], json_tags: Sequence[str]) -> dict[str, str]:
    """``parseTags``: ``tag=k:v`` (split at the first ``:``), then each ``tags`` JSON map."""
    tags: dict[str, str] = {}
    for tag in simple:
        key, sep, value = tag.partition(":")
        if not sep:
            raise InvalidInput(
                f"malformed 'tag' parameter, expecting key:value, received: {tag}")
        tags[key] = value
    for text in json_tags:
        try:
            tags.update(parse_string_map(text))
        except ValueError as exc:
            raise InvalidInput(
                f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
    return tags


_STATUS_TAGS = {("error", "true"): "error", ("otel.status_code", "ERROR"): "error",
                ("otel.status_code", "OK"): "ok"}


def tags_to_filters(tags: Mapping[str, str], param: str = TAGS
                    ) -> tuple[tuple[AttributeFilter, ...], str | None]:
    """Tags -> (``key == value`` filters, status). *Spanhouse*: the status tags of Jaeger's
    translator become ``SearchQuery.status``; keys must not be empty; at most ``MAX_TAGS``."""
    if len(tags) > MAX_TAGS:
        raise parse_error(param, f"more than {MAX_TAGS} tags")
    filters, status = [], None
    for key, value in tags.items():
        if not key:
            raise parse_error(param, "a tag key is empty")
        check_text(param, key)
        check_text(param, value)
        mapped = _STATUS_TAGS.get((key, value))
        if mapped:
            if status and status != mapped:
                raise InvalidInput(f"tags ask for both status {status!r} and {mapped!r}")
            status = mapped
            continue
        filters.append(AttributeFilter(key=key, value=value, op="eq"))
    return tuple(filters), status


@dataclass(frozen=True)
class TraceQueryParameters:
    """``traceQueryParameters``: the search, or the trace ids to fetch (then only the time
    window of ``query`` matters)."""

    query: SearchQuery
    trace_ids: tuple[str, ...] = ()
    raw_traces: bool = False


class QueryParser:
    """``queryParser``: ``now_ns`` and the default lookback are injectable for tests."""

    def __init__(self, trace_query_lookback_ns: int = DEFAULT_TRACE_QUERY_LOOKBACK_NS,
                 now_ns: Callable[[], int] = time.time_ns):
        self.trace_query_lookback_ns = trace_query_lookback_ns
        self.now_ns = now_ns

    # parseTime: "units" since the epoch; empty -> now (minus the lookback for ``start``)
    def parse_time(self, params: Params, name: str, unit_ns: int) -> int:
        value = params.get(name)
        if value == "":
            now = self.now_ns()
            if name == START:
                return now - self.trace_query_lookback_ns
            return now
        try:
            t = go_parse_int(value)
        except ValueError as exc:
            raise parse_error(name, exc) from None
        if t < 0:
            raise parse_error(name, "must not be before 1970")
        if t * unit_ns > MAX_INT64:
            raise parse_error(name, f"strconv.ParseInt: parsing {go_quote(value)}: "
                                    "value out of range")
        return t * unit_ns

    def parse_duration(self, params: Params, name: str, default: int = 0) -> int:
        value = params.get(name)
        if value == "":
            return default
        try:
            return go_parse_nonnegative_duration(value)
        except ValueError as exc:
            raise parse_error(name, exc) from None

    def parse_lookback(self, params: Params) -> int | None:
        """*Spanhouse*: the UI's ``lookback`` (``1h``, ``2d``, ``custom``); None when absent."""
        value = params.get(LOOKBACK)
        if value in ("", "custom"):
            return None
        try:
            d = go_parse_duration(value, _UI_UNITS)
        except ValueError as exc:
            raise parse_error(LOOKBACK, exc) from None
        if d <= 0:
            raise parse_error(LOOKBACK, "must be positive")
        return d

    def parse_trace_query_params(self, source: Any) -> TraceQueryParameters:
        """``parseTraceQueryParams`` for ``GET /api/traces``."""
        params = source if isinstance(source, Params) else Params(source)
        service = check_text(SERVICE, params.get(SERVICE))
        operation = check_text(OPERATION, params.get(OPERATION))
        lookback = self.parse_lookback(params)
        start = self.parse_time(params, START, 1_000)
        end = self.parse_time(params, END, 1_000)
        if params.get(START) == "" and lookback is not None:
            start = end - lookback
        tags = parse_tags(params.getlist(TAG), params.getlist(TAGS))
        limit = DEFAULT_QUERY_LIMIT
        raw_limit = params.get(LIMIT)
        if raw_limit != "":
            try:
                limit = go_parse_int(raw_limit, 32)
            except ValueError as exc:   # upstream returns strconv's error unwrapped
                raise InvalidInput(str(exc)) from None
            check_limit(LIMIT, limit)
        min_duration = self.parse_duration(params, MIN_DURATION)
        max_duration = self.parse_duration(params, MAX_DURATION)
        trace_ids: list[str] = []
        if len(params.getlist(TRACE_ID)) > MAX_TRACE_IDS:
            raise parse_error(TRACE_ID, f"more than {MAX_TRACE_IDS} trace ids")
        for raw_id in params.getlist(TRACE_ID):
            try:
                trace_id = parse_trace_id(raw_id)
            except ValueError as exc:
                raise InvalidInput(f"cannot parse traceID param: {exc}") from None
            if trace_id not in trace_ids:
                trace_ids.append(trace_id)
        raw = False
        if params.get(RAW) != "":
            try:
                raw = go_parse_bool(params.get(RAW))
            except ValueError as exc:
                raise parse_error(RAW, exc) from None
        # validateQuery
        if not trace_ids and not service:
            raise InvalidInput(ERR_SERVICE_REQUIRED)
        if min_duration and max_duration and max_duration < min_duration:
            raise InvalidInput(ERR_MAX_LESS_THAN_MIN)
        if start > end:
            raise InvalidInput(ERR_START_AFTER_END)
        filters, status = tags_to_filters(tags)
        query = SearchQuery(
            start_ns=start, end_ns=end, service=service or None, operation=operation or None,
            attributes=filters, status=status,
            span_min_duration_ns=min_duration or None, span_max_duration_ns=max_duration or None,
            limit=limit, sort="recent")
        return TraceQueryParameters(query=query, trace_ids=tuple(trace_ids), raw_traces=raw)

    def parse_dependencies_query_params(self, source: Any) -> tuple[int, int]:
        """``parseDependenciesQueryParams``: ``endTs`` (Unix ms, default now) and ``lookback``
        (integer ms, default 24 h) -> ``(start_ns, end_ns)``."""
        params = source if isinstance(source, Params) else Params(source)
        end = self.parse_time(params, END_TS, 1_000_000)
        lookback = DEFAULT_DEPENDENCY_LOOKBACK_NS
        value = params.get(LOOKBACK)
        if value != "":
            try:
                ms = go_parse_int(value)
            except ValueError as exc:
                raise parse_error(LOOKBACK, exc) from None
            if ms < 0:
                raise parse_error(LOOKBACK, "must not be negative")
            lookback = ms * 1_000_000
        return max(end - lookback, 0), end

    def parse_get_trace_params(self, trace_id: str, source: Any) -> tuple[str, int | None,
                                                                         int | None, bool]:
        """``parseGetTraceParameters`` for ``GET /api/traces/{traceID}``: the id (32 hex
        digits), the optional ``start``/``end`` (µs -> ns) and ``raw``."""
        params = source if isinstance(source, Params) else Params(source)
        try:
            tid = parse_trace_id(trace_id)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        bounds: list[int | None] = []
        for name in (START, END):
            bounds.append(self.parse_time(params, name, 1_000) if params.get(name) else None)
        raw = False
        if params.get(RAW) != "":
            try:
                raw = go_parse_bool(params.get(RAW))
            except ValueError as exc:
                raise parse_error(RAW, exc) from None
        return tid, bounds[0], bounds[1], raw


def parse_span_kind(value: str, param: str = SPAN_KIND) -> str | None:
    """A Jaeger span kind filter -> ``QueryAPI.operations``' ``span_kind``: empty = all kinds
    (None); ``unspecified`` = spans without a kind (``""``, ``Operation.span_kind``'s spelling);
    else the kind. *Spanhouse*: an unknown kind is a 400 (upstream's metrics message) rather
    than an empty answer."""
    if value == "":
        return None
    if value not in SPAN_KINDS:
        raise parse_error(param, f"unsupported span kind: '{value}'")
    return "" if value == "unspecified" else value


def unique_operation_names(names: Iterable[str]) -> list[str]:
    """``getUniqueOperationNames`` (sorted: upstream's order is a Go map's)."""
    return sorted(set(names))
