"""The SQL of the native INSERT (``spanhouse.store.native_insert``): ClickHouse's input
structure for the OTLP messages, one expression per traces-table column, and the statement.

The statement and its named lambdas are ``sql/native_insert.sql`` and
``sql/native_functions.sql``; this module fills them in. Only identifiers, the schema, file
paths and the deduplication token (checked against ``_TOKEN``) are substituted: the span data
never goes into the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from importlib import resources

from spanhouse.model.enums import SPAN_KINDS, STATUS_CODES
from spanhouse.model.limits import MAX_TIME_NS
from spanhouse.sqlfiles import render

PROTO_FILE = "otlp_traces.proto"
MESSAGE_NAME = "ExportTraceServiceRequest"
INCOMPATIBLE_MARKER = "spanhouse: request not native-compatible"
_TOKEN = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,512}$")


@functools.cache
def otlp_proto_text() -> str:
    """The flattened OTLP trace schema that ClickHouse parses the messages with."""
    return resources.files("spanhouse.store").joinpath(PROTO_FILE).read_text(encoding="utf-8")


# The input's structure: the fields of otlp_traces.proto that the rows need, as nested Tuple
# and Array columns matched by name (types kept small: ClickHouse's planning time grows with
# them). An AnyValue's `value` is the oneof presence enum of input_format_protobuf_oneof_presence:
# its values are the field numbers, its names the attribute type names of
# spanhouse.model.attributes. Unmapped oneof members: string_value_strindex reads as 'empty'
# (the Python decoder's EMPTY), and inside an array or kvlist the presence still says 'array'
# or 'kvlist' for a nested one, which the SQL refuses (see sh_json_values).
_PRESENCE = ("Enum8('empty' = 0, 'string' = 1, 'bool' = 2, 'int' = 3, 'double' = 4, "
             "'array' = 5, 'kvlist' = 6, 'bytes' = 7, 'strindex' = 8)")
_SCALARS = ("string_value String, bool_value Bool, int_value Int64, double_value Float64, "
            "bytes_value String")
_VALUE1 = f"Tuple({_SCALARS}, value {_PRESENCE})"
_VALUE0 = (f"Tuple({_SCALARS}, array_value Tuple(values Array({_VALUE1})), "
           f"kvlist_value Tuple(values Array(Tuple(key String, value {_VALUE1}))), value {_PRESENCE})")
_KEY_VALUES = f"Array(Tuple(key String, value {_VALUE0}))"
_SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, "
    "flags UInt32, name String, kind Int32, start_time_unix_nano UInt64, "
    f"end_time_unix_nano UInt64, attributes {_KEY_VALUES}, dropped_attributes_count UInt32, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_KEY_VALUES}, "
    "dropped_attributes_count UInt32)), dropped_events_count UInt32, "
    "links Array(Tuple(trace_id String, span_id String, trace_state String, "
    f"attributes {_KEY_VALUES}, dropped_attributes_count UInt32, flags UInt32)), "
    "dropped_links_count UInt32, status Tuple(message String, code Int32))"
)
INPUT_STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_KEY_VALUES}, "
    "dropped_attributes_count UInt32), scope_spans Array(Tuple(scope Tuple(name String, "
    f"version String), spans Array({_SPAN})))))"
)


def string_literal(text: str) -> str:
    """A ClickHouse string literal (for the schema, the structure and file paths; never for
    data)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _enum_names(expr: str, names: Sequence[str]) -> str:
    """The stored name of enum value ``expr`` (``names`` indexed by value); an unknown value as
    the 0 entry, as the Python decoder does."""
    values = ", ".join(str(i) for i in range(len(names)))
    spellings = ", ".join(string_literal(name) for name in names)
    return f"transform({expr}, [{values}], [{spellings}], {string_literal(names[0])})"


# Every column of the traces table -> its expression over one span `sp` (after the ARRAY JOINs)
# and the per-resource / per-scope columns computed before them.
COLUMN_EXPRESSIONS = {
    "Timestamp": "sh_time(sp.start_time_unix_nano)",
    "TraceId": "sh_hex(sp.trace_id)",
    "SpanId": "sh_hex(sp.span_id)",
    "ParentSpanId": "if(sp.parent_span_id = '' OR sp.parent_span_id = unhex('0000000000000000'), '', "
                    "sh_hex(sp.parent_span_id))",
    "TraceState": "sp.trace_state",
    "SpanName": "sp.name",
    "SpanKind": _enum_names("sp.kind", SPAN_KINDS),
    "ServiceName": "res_service",
    "ResourceAttributes": "res_attributes",
    "ResourceAttributeTypes": "res_attribute_types",
    "ScopeName": "scope_name",
    "ScopeVersion": "scope_version",
    "SpanAttributes": "sh_attributes(sp.attributes)",
    "SpanAttributeTypes": "sh_attribute_types(sp.attributes)",
    "Duration": "toUInt64(greatest(toInt64(sp.end_time_unix_nano) - toInt64(sp.start_time_unix_nano), 0))",
    "StatusCode": _enum_names("sp.status.code", STATUS_CODES),
    "StatusMessage": "sp.status.message",
    "Events.Timestamp": "arrayMap(t -> sh_time(t), sp.events.time_unix_nano)",
    "Events.Name": "sp.events.name",
    "Events.Attributes": "arrayMap(kvs -> sh_attributes(kvs), sp.events.attributes)",
    "Events.AttributeTypes": "arrayMap(kvs -> sh_attribute_types(kvs), sp.events.attributes)",
    "Events.DroppedAttributesCount": "sp.events.dropped_attributes_count",
    "Links.TraceId": "arrayMap(h -> sh_hex(h), sp.links.trace_id)",
    "Links.SpanId": "arrayMap(h -> sh_hex(h), sp.links.span_id)",
    "Links.TraceState": "sp.links.trace_state",
    "Links.Attributes": "arrayMap(kvs -> sh_attributes(kvs), sp.links.attributes)",
    "Links.AttributeTypes": "arrayMap(kvs -> sh_attribute_types(kvs), sp.links.attributes)",
    "Links.Flags": "sp.links.flags",
    "Links.DroppedAttributesCount": "sp.links.dropped_attributes_count",
    "TraceFlags": "sp.flags",
    "DroppedAttributesCount": "sp.dropped_attributes_count",
    "DroppedEventsCount": "sp.dropped_events_count",
    "DroppedLinksCount": "sp.dropped_links_count",
    "ResourceDroppedAttributesCount": "res_dropped_attributes_count",
    "AdjustedCount": "toFloat64(1)",
    "SamplingPolicy": "''",
}

# The span filter of the Python decoder (spanhouse.model.otlp_proto.decode_request): ids, and
# times before MAX_TIME_NS (spanhouse.model.limits).
_VALID_SPAN = (
    "length(tid) = 16 AND tid != unhex('00000000000000000000000000000000') "
    "AND length(sid) = 8 AND sid != unhex('0000000000000000') AND length(pid) IN (0, 8) "
    "AND t0 < {max_time} AND t1 < {max_time} AND arrayAll(t -> t < {max_time}, te)"
)


def sql_functions() -> str:
    """The named lambdas of the INSERT, for a ``WITH`` clause."""
    return render("spanhouse.store", "native_functions.sql",
                  marker=string_literal(INCOMPATIBLE_MARKER)).strip()


def render_insert(target: str, columns: Sequence[str], source: str, token: str | None = None,
                  fmt: str = "", schema_file: str | None = None) -> str:
    """The INSERT statement: ``columns`` (names of COLUMN_EXPRESSIONS) of ``target`` (quoted
    ``db.table``) from ``source`` (a table function over the messages). ``schema_file``: the
    .proto by absolute path (embedded chDB, which would otherwise cache a schema given as text
    in a ``__cache__`` folder of the current directory); else the schema travels as text
    (a server keeps that cache in its own directory)."""
    if schema_file:
        settings = {"format_schema": string_literal(f"{schema_file}:{MESSAGE_NAME}")}
    else:
        settings = {
            "format_schema_source": string_literal("string"),
            "format_schema": string_literal(otlp_proto_text()),
            "format_schema_message_name": string_literal(MESSAGE_NAME),
        }
    settings["input_format_protobuf_oneof_presence"] = "1"
    if token:  # None or "" (SpanBatch.insert_token's "none"): no token
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise ValueError(f"invalid deduplication token {token!r}: use 1-512 of A-Z a-z 0-9 _.:@/+=-")
        settings["insert_deduplication_token"] = string_literal(token)
        settings["async_insert"] = "0"   # a token's insert is synchronous (store/cluster.py)
    return render(
        "spanhouse.store", "native_insert.sql",
        target=target,
        columns=", ".join(f"`{name}`" for name in columns),
        settings=", ".join(f"{key} = {value}" for key, value in settings.items()),
        functions=sql_functions(),
        select=",\n    ".join(COLUMN_EXPRESSIONS[name] for name in columns),
        source=source,
        valid=_VALID_SPAN.format(max_time=int(MAX_TIME_NS)),
        format=fmt,
    )
