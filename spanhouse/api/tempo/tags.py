"""Tag names and tag values for Tempo's autocomplete endpoints, read from the store.

Names are the keys of the attribute maps (``SpanAttributes``, ``ResourceAttributes``, the
events' and links' ``Attributes``) of the spans in the window, plus Tempo's intrinsics for the
``intrinsic`` scope (``pkg/search/util.go`` ``GetVirtualIntrinsicValues``). Values are the
distinct values of one attribute or intrinsic, typed as Tempo types them (``string``, ``int``,
``float``, ``bool``, ``keyword`` for status and kind enums).

Bounded three ways, since Tempo caps these answers (by bytes, ``max_bytes_per_tag_values_query``)
and autocomplete must stay fast: ClickHouse reads at most ``SCAN_ROWS`` spans of the window
(the most recent parts first is not promised: it is a sample of the window, which is what an
autocomplete list needs), returns at most ``MAX_NAMES`` names per scope and ``MAX_VALUES``
values (the most frequent first), and values longer than ``MAX_VALUE_BYTES`` are left out.

``condition`` (a SQL boolean over a span row, from the request's ``q``) restricts the spans
names and values come from; every caller value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.errors import InvalidInput
from spanhouse.query.sqlutil import WINDOW

SCAN_ROWS = 500_000
MAX_NAMES = 1_000
MAX_VALUES = 1_000
MAX_VALUE_BYTES = 1_024

SCOPES = ("resource", "span", "event", "link", "instrumentation", "intrinsic")
INTRINSICS = (
    "duration", "name", "status", "statusMessage", "kind", "rootServiceName", "rootName",
    "traceDuration", "event:name", "event:timeSinceStart", "link:spanID", "link:traceID",
    "instrumentation:name", "instrumentation:version", "trace:id", "span:id", "span:parentID",
    "span:status", "span:statusMessage", "span:duration", "span:name", "span:kind",
    "trace:rootName", "trace:rootService", "trace:duration")
_STATUS_VALUES = ("ok", "error", "unset")
_KIND_VALUES = ("client", "server", "producer", "consumer", "internal", "unspecified")

# Key arrays per scope, as SQL over one span row (fixed fragments only).
_KEYS = {
    "span": "mapKeys(SpanAttributes)",
    "resource": "mapKeys(ResourceAttributes)",
    "event": "arrayFlatten(arrayMap(m -> mapKeys(m), `Events.Attributes`))",
    "link": "arrayFlatten(arrayMap(m -> mapKeys(m), `Links.Attributes`))",
}
# Values of one attribute key per scope: (values array, types array) over one span row.
_VALUES = {
    "span": ("[SpanAttributes[{key:String}]]", "[SpanAttributeTypes[{key:String}]]",
             "mapContains(SpanAttributes, {key:String})"),
    "resource": ("[ResourceAttributes[{key:String}]]", "[ResourceAttributeTypes[{key:String}]]",
                 "mapContains(ResourceAttributes, {key:String})"),
    "event": ("arrayMap(m -> m[{key:String}], arrayFilter(m -> mapContains(m, {key:String}), "
              "`Events.Attributes`))",
              "arrayMap(m -> m[{key:String}], arrayFilter(m -> mapContains(m, {key:String}), "
              "`Events.AttributeTypes`))", "1"),
    "link": ("arrayMap(m -> m[{key:String}], arrayFilter(m -> mapContains(m, {key:String}), "
             "`Links.Attributes`))",
             "arrayMap(m -> m[{key:String}], arrayFilter(m -> mapContains(m, {key:String}), "
             "`Links.AttributeTypes`))", "1"),
}
# Intrinsics whose values come from a column (as strings).
_INTRINSIC_COLUMNS = {
    "name": ("[SpanName]", "1"), "span:name": ("[SpanName]", "1"),
    "statusMessage": ("[StatusMessage]", "1"), "span:statusMessage": ("[StatusMessage]", "1"),
    "rootServiceName": ("[ServiceName]", "ParentSpanId = ''"),
    "trace:rootService": ("[ServiceName]", "ParentSpanId = ''"),
    "rootName": ("[SpanName]", "ParentSpanId = ''"),
    "trace:rootName": ("[SpanName]", "ParentSpanId = ''"),
    "event:name": ("`Events.Name`", "1"),
    "instrumentation:name": ("[ScopeName]", "1"),
    "instrumentation:version": ("[ScopeVersion]", "1"),
}
_TYPES = {"int": "int", "double": "float", "bool": "bool"}   # stored type -> Tempo's


@dataclass(frozen=True)
class TagName:
    """A tag of the values endpoints: ``span.http.route`` -> ("span", "http.route"),
    ``.http.route`` -> ("none", ...), ``status`` -> ("intrinsic", "status"), and v1's bare
    ``http.route`` -> ("none", ...)."""

    scope: str
    name: str


def split_tag(tag: str, v2: bool) -> TagName:
    if not tag or len(tag) > 1024:
        raise InvalidInput("invalid tag: give a tag name of at most 1024 bytes")
    if tag in INTRINSICS:
        return TagName("intrinsic", tag)
    if v2:
        for scope in ("span", "resource", "event", "link"):
            if tag.startswith(scope + ".") and len(tag) > len(scope) + 1:
                return TagName(scope, _unquote(tag[len(scope) + 1:]))
        if tag.startswith(".") and len(tag) > 1:
            return TagName("none", _unquote(tag[1:]))
    return TagName("none", tag)


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name


def _source(tables, condition: str, join: str) -> str:
    return (f"FROM {tables.traces}{join} PREWHERE {WINDOW} WHERE {condition} "
            "LIMIT {scan:UInt64}")


def names_sql(tables, scopes: tuple[str, ...], condition: str, join: str = "") -> str:
    """(scope, key) rows: the keys of the given scopes, at most ``MAX_NAMES`` per scope."""
    pairs = ", ".join(f"arrayMap(k -> ('{scope}', k), {_KEYS[scope]})" for scope in scopes)
    return (f"SELECT pair.1 AS scope, pair.2 AS key FROM (SELECT arrayJoin(pairs) AS pair "
            f"FROM (SELECT arrayConcat({pairs}) AS pairs {_source(tables, condition, join)})) "
            "WHERE key != '' GROUP BY scope, key ORDER BY scope, key "
            "LIMIT {per_scope:UInt64} BY scope")


def values_sql(tables, tag: TagName, condition: str, join: str = "") -> str:
    """(value, stored type) rows of one attribute (``none``: span, else resource), the most
    frequent first."""
    if tag.scope == "intrinsic":
        values, where = _INTRINSIC_COLUMNS[tag.name]
        types = f"arrayMap(v -> '', {values})"
    elif tag.scope == "none":
        # Tempo's unscoped lookup: the span's attribute when it has one, else the resource's.
        values = ("if(mapContains(SpanAttributes, {key:String}), [SpanAttributes[{key:String}]], "
                  "if(mapContains(ResourceAttributes, {key:String}), "
                  "[ResourceAttributes[{key:String}]], []))")
        types = ("if(mapContains(SpanAttributes, {key:String}), "
                 "[SpanAttributeTypes[{key:String}]], [ResourceAttributeTypes[{key:String}]])")
        where = ("(mapContains(SpanAttributes, {key:String}) "
                 "OR mapContains(ResourceAttributes, {key:String}))")
    else:
        values, types, where = _VALUES[tag.scope]
    source = _source(tables, f"({where}) AND ({condition})", join)
    return (f"SELECT value, any(type) AS type FROM (SELECT arrayJoin(arrayZip(vs, "
            f"arrayResize(ts, length(vs), ''))) AS vt, vt.1 AS value, vt.2 AS type "
            f"FROM (SELECT {values} AS vs, {types} AS ts {source})) "
            "WHERE value != '' AND length(value) <= {max_bytes:UInt64} "
            "GROUP BY value ORDER BY count() DESC, value LIMIT {max_values:UInt64}")


def virtual_values(tag: TagName) -> list[tuple[str, str]] | None:
    """Tempo's ``GetVirtualTagValuesV2``: the enums' keywords; duration intrinsics have none."""
    if tag.scope != "intrinsic":
        return None
    if tag.name in ("status", "span:status"):
        return [("keyword", v) for v in _STATUS_VALUES]
    if tag.name in ("kind", "span:kind"):
        return [("keyword", v) for v in _KIND_VALUES]
    if tag.name not in _INTRINSIC_COLUMNS:
        return []       # durations, ids, timeSinceStart: no list to offer, as Tempo
    return None


def virtual_values_v1(tag: str) -> list[str] | None:
    """Tempo's v1 ``GetVirtualTagValues``: ``status.code`` and ``error`` have fixed values."""
    if tag == "status.code":
        return ["unset", "ok", "error"]
    if tag == "error":
        return ["true"]
    return None


def typed(value: str, stored_type: str) -> tuple[str, str]:
    """Tempo's ``TagValue`` type for a stored value: stored types are Spanhouse's (``int``,
    ``double``, ``bool``; none = string)."""
    return _TYPES.get(stored_type, "string"), value
