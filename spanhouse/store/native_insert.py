"""The fast ingest path: ClickHouse parses OTLP protobuf itself.

``NativeProtobufInserter`` hands the bytes of ``ExportTraceServiceRequest`` messages straight to
ClickHouse. Its ``Protobuf`` input format parses them with the OTLP schema of
``otlp_traces.proto`` (passed as a setting, ``format_schema_source = 'string'``), and ONE
``INSERT INTO {table} SELECT ... ARRAY JOIN resource_spans -> scope_spans -> spans`` turns them
into the rows of the traces table. No Python object is made per span or attribute.

Contract (the same rows as the Python path):

- For every span, the row is IDENTICAL, column for column, to the one that
  ``TraceWriter.write(decode_proto_bytes(message).batch)`` writes (only the columns the table has;
  ``AdjustedCount`` 1.0 and ``SamplingPolicy`` ''): lowercase hex ids, an all-zero parent id as
  '', the exporter's span kind and status code names (an unknown enum value as the 0 entry),
  ``Duration = max(end - start, 0)``, ``ServiceName`` from the resource's first ``service.name``
  attribute (its string value), attribute strings as ``spanhouse.model.attributes`` writes them
  (double as Go's ``AsString``, arrays and kvlists as compact JSON with sorted keys, bytes as
  base64), ``*AttributeTypes`` with the non-string entries only; and the spans the Python
  decoder rejects left out: trace id not 16 bytes or all zero, span id not 8 bytes or all
  zero, parent id neither empty nor 8 bytes, a start, end or event time not before
  ``MAX_TIME_NS`` (``spanhouse.model.limits``). ``tests/store/test_native_insert.py`` checks
  this on crafted requests and on thousands of random and mutated ones.
- What the SQL cannot match, the Python path must take: an attribute nested deeper than one
  level (an array or kvlist inside an array or kvlist). ``native_compatible`` tells, cheaply
  (in C, no Python per span); ``split_native`` sorts a list of requests. As a safety net the
  INSERT itself fails with ``NativeIncompatible`` when it meets one (``throwIf`` where the JSON
  would be written) before any row is written: an INSERT SELECT squashes its rows into blocks
  of ``min_insert_block_size_rows`` (1M) / ``min_insert_block_size_bytes`` (256 MiB) before
  the first write, so below those (always, at our batch sizes) nothing is stored. A caller
  that skipped the check then sends that batch through the Python path.
- The input bytes are not validated the way the Python parser validates them (ClickHouse stores
  a string field that is not UTF-8 as it is; ``ExportTraceServiceRequest.ParseFromString``
  refuses the request): pass only requests that parsed (about 0.7 us per span, in C). Bytes
  that do not parse at all fail the whole INSERT (``StoreError``, ClickHouse code 444).
- ``insert_*`` return once ClickHouse has acknowledged the INSERT; on failure they raise
  ``NativeIncompatible`` (nothing written, use the Python path) or ``StoreError`` (retryable;
  assume any part may have been written, retry with the same ``token``). Not idempotent unless a
  ``token`` is given (``insert_deduplication_token``; the table needs deduplication on, e.g.
  ``non_replicated_deduplication_window`` for a plain MergeTree).
- One statement costs ClickHouse ~110 ms of planning (chDB 26.9, this statement; the
  materialized views add ~30 ms, as for any INSERT) whatever its size: use it for >= 10k spans
  per INSERT (10+ requests of 1000 spans), the Python path for small batches.
- An inserter is thread-confined like ``TraceWriter``.

How the bytes reach ClickHouse:

- embedded chDB (``chdb://``): written to a temporary file and read with
  ``file('/abs/path', 'Protobuf', '<structure>')`` (``insert_file`` reads a file already there);
- a ClickHouse server (``http(s)://``): the HTTP request body of
  ``INSERT ... SELECT ... FROM input('<structure>') FORMAT Protobuf`` (``client.command`` with
  ``data=``). The server needs ``format_schema_source`` (ClickHouse 25.x or later).

The payload is ClickHouse's ``Protobuf`` format: length-delimited messages (a varint length,
then the message: protobuf's ``writeDelimited``); ``encode_delimited`` builds it.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from importlib import resources

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.encoder import _VarintBytes
from google.protobuf.message import DecodeError

from spanhouse.errors import ConfigError, StoreError
from spanhouse.model.limits import MAX_TIME_NS
from spanhouse.store.schema import quote_identifier, table_columns

PROTO_FILE = "otlp_traces.proto"
MESSAGE_NAME = "ExportTraceServiceRequest"
INCOMPATIBLE_MARKER = "spanhouse: request not native-compatible"
_TOKEN = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,512}$")
_GLOB = re.compile(r"[*?{}\[\]]")


class NativeIncompatible(StoreError):
    """The INSERT refused a batch that holds a request the SQL cannot match (see
    ``native_compatible``); nothing was written. Send that batch through the Python path."""


# ------------------------------------------------------------------------------- the payload
def encode_delimited(messages: Iterable[bytes]) -> bytes:
    """Serialized messages -> one payload of length-delimited messages (ClickHouse's
    ``Protobuf`` format, protobuf's ``writeDelimited``)."""
    parts = []
    for message in messages:
        parts.append(_VarintBytes(len(message)))
        parts.append(message)
    return b"".join(parts)


@functools.cache
def otlp_proto_text() -> str:
    """The flattened OTLP trace schema that ClickHouse parses the messages with."""
    return resources.files("spanhouse.store").joinpath(PROTO_FILE).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- compatibility
def _probe_class():
    """A proto2 "probe" of ``ExportTraceServiceRequest``: only the fields the check needs.
    The value of a nested AnyValue (inside an array or kvlist) that is itself an array or a
    kvlist parses as ``Deep``, whose required field is never on the wire, so upb's
    ``IsInitialized`` (C, no Python per attribute) is False exactly when some attribute nests
    deeper than one level. Strings are not declared: the probe skips them unparsed."""
    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="spanhouse/store/native_probe.proto", package="spanhouse.native_probe",
        syntax="proto2")
    rep, opt, req, msg = F.LABEL_REPEATED, F.LABEL_OPTIONAL, F.LABEL_REQUIRED, F.TYPE_MESSAGE

    def message(name, *fields):
        m = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            f = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                f.type_name = f".spanhouse.native_probe.{type_name}"

    message("Request", ("resource_spans", 1, msg, rep, "ResourceSpans"))
    message("ResourceSpans", ("resource", 1, msg, opt, "Resource"),
            ("scope_spans", 2, msg, rep, "ScopeSpans"))
    message("Resource", ("attributes", 1, msg, rep, "KeyValue"))
    message("ScopeSpans", ("spans", 2, msg, rep, "Span"))
    message("Span", ("attributes", 9, msg, rep, "KeyValue"), ("events", 11, msg, rep, "Event"),
            ("links", 13, msg, rep, "Link"))
    message("Event", ("attributes", 3, msg, rep, "KeyValue"))
    message("Link", ("attributes", 4, msg, rep, "KeyValue"))
    message("KeyValue", ("value", 2, msg, opt, "AnyValue"))
    message("AnyValue", ("array_value", 5, msg, opt, "ArrayValue"),
            ("kvlist_value", 6, msg, opt, "KeyValueList"))
    message("ArrayValue", ("values", 1, msg, rep, "InnerValue"))
    message("KeyValueList", ("values", 1, msg, rep, "InnerKeyValue"))
    message("InnerKeyValue", ("value", 2, msg, opt, "InnerValue"))
    message("InnerValue", ("array_value", 5, msg, opt, "Deep"), ("kvlist_value", 6, msg, opt, "Deep"))
    message("Deep", ("never", 1, F.TYPE_BOOL, req, None))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("spanhouse.native_probe.Request"))


_Probe = _probe_class()


def native_compatible(request) -> bool:
    """True when the native path writes exactly the rows of the Python path for ``request``
    (an ``ExportTraceServiceRequest``, or its serialized bytes: cheaper, pass them when you
    have them); False when an attribute nests deeper than one level (an array or kvlist inside
    an array or kvlist), which only the Python path turns into JSON, or when the bytes do not
    parse. One C parse of a probe message and no Python per span or attribute: about 1 us per
    span from bytes (a tenth of decoding), plus the serialization from a message."""
    body = request if isinstance(request, (bytes, bytearray, memoryview)) else request.SerializeToString()
    probe = _Probe()
    try:
        probe.MergeFromString(body)
    except (DecodeError, ValueError, RuntimeError):
        return False
    return probe.IsInitialized()


def split_native(bodies: Sequence[bytes]) -> tuple[list[int], list[int]]:
    """Indices of the serialized requests for the native path, and of those for the Python
    path (``native_compatible`` False), each in input order."""
    native, python = [], []
    for i, body in enumerate(bodies):
        (native if native_compatible(body) else python).append(i)
    return native, python


# ------------------------------------------------------------------------------- the SQL
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

# Named lambdas (WITH ... AS name; ClickHouse inlines them where called). Doubles: ClickHouse's
# toString(Float64) prints the shortest round-trip digits, positional for decimal exponents in
# [-6, 20] and d.ddde-X / d.ddde21 otherwise (ES6's rule), which is
# spanhouse.model.attributes.format_double (Go's AsString) but for the '+' of positive
# exponents; sh_json_double reshapes it into orjson's float (positional for exponents in
# [-5, 15], '.0' on whole numbers, 'e+'/'e-' otherwise; NaN and +-Inf as null).
# tests/store/test_native_insert.py checks both on 100k random doubles against the Python code.
_FUNCTIONS = r"""
    x -> multiIf(isNaN(x), 'NaN', isInfinite(x), if(x > 0, '+Inf', '-Inf'),
                 replaceRegexpOne(toString(x), 'e([0-9])', 'e+\\1')) AS sh_go_double,
    x -> multiIf(NOT isFinite(x), 'null',
                 position(toString(x), 'e') > 0, replaceRegexpOne(toString(x), 'e([0-9])', 'e+\\1'),
                 match(toString(x), '^-?0\\.00000'),
                     replaceOne(replaceRegexpOne(toString(x), '^(-?)0\\.00000([0-9])([0-9]*)$', '\\1\\2.\\3e-6'), '.e', 'e'),
                 position(toString(x), '.') > 0, toString(x),
                 length(toString(abs(x))) >= 17,
                     replaceOne(concat(replaceRegexpOne(toString(x), '^(-?)([0-9])([0-9]*?)0*$', '\\1\\2.\\3'),
                                       'e+', toString(length(toString(abs(x))) - 1)), '.e', 'e'),
                 concat(toString(x), '.0')) AS sh_json_double,
    c -> multiIf(c = '"', '\\"', c = '\\', '\\\\', c = char(10), '\\n', c = char(13), '\\r',
                 c = char(9), '\\t', c = char(8), '\\b', c = char(12), '\\f',
                 c < ' ', concat('\\u00', lower(hex(c))), c) AS sh_json_char,
    js -> concat('"', if(match(js, '[\\x00-\\x1f"\\\\]'),
                         arrayStringConcat(arrayMap(c -> sh_json_char(c), splitByRegexp('', js))), js),
                 '"') AS sh_json_string,
    jv -> arrayMap((t, s, i, b, d, y) -> multiIf(
              t = 'string', sh_json_string(s), t = 'int', toString(i),
              t = 'bool', if(b, 'true', 'false'), t = 'double', sh_json_double(d),
              t = 'bytes', concat('"', base64Encode(y), '"'),
              t IN ('array', 'kvlist'), toString(throwIf(t IN ('array', 'kvlist'), '{marker}')),
              'null'),
          jv.value, jv.string_value, jv.int_value, jv.bool_value, jv.double_value, jv.bytes_value) AS sh_json_values,
    jm -> arraySort(p -> p.key, arrayFilter((p, n) -> NOT has(arraySlice(jm.key, n + 1), p.key),
                                            jm, arrayEnumerate(jm))) AS sh_json_members,
    ja -> concat('[', arrayStringConcat(sh_json_values(ja), ','), ']') AS sh_json_array,
    jo -> concat('{', arrayStringConcat(arrayMap((k, j) -> concat(sh_json_string(k), ':', j),
                                                 sh_json_members(jo).key, sh_json_values(sh_json_members(jo).value)),
                                        ','), '}') AS sh_json_object,
    kvs -> arrayMap((t, s, i, b, d, y, av, kl) -> multiIf(
               t = 'string', s, t = 'int', toString(i), t = 'bool', if(b, 'true', 'false'),
               t = 'double', sh_go_double(d), t = 'bytes', base64Encode(y),
               t = 'array', sh_json_array(av), t = 'kvlist', sh_json_object(kl), ''),
           kvs.value.value, kvs.value.string_value, kvs.value.int_value, kvs.value.bool_value,
           kvs.value.double_value, kvs.value.bytes_value, kvs.value.array_value.values,
           kvs.value.kvlist_value.values) AS sh_values,
    kvs -> mapFromArrays(kvs.key, sh_values(kvs)) AS sh_attributes,
    kvs -> mapFromArrays(arrayFilter((k, t) -> t != 'string', kvs.key, kvs.value.value),
                         arrayMap(t -> if(t = 'strindex', 'empty', toString(t)),
                                  arrayFilter(t -> t != 'string', kvs.value.value))) AS sh_attribute_types,
    h -> lower(hex(h)) AS sh_hex,
    t -> fromUnixTimestamp64Nano(toInt64(t)) AS sh_time"""

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
    "SpanKind": "transform(sp.kind, [0, 1, 2, 3, 4, 5], "
                "['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'], 'Unspecified')",
    "ServiceName": "res_service",
    "ResourceAttributes": "res_attributes",
    "ResourceAttributeTypes": "res_attribute_types",
    "ScopeName": "scope_name",
    "ScopeVersion": "scope_version",
    "SpanAttributes": "sh_attributes(sp.attributes)",
    "SpanAttributeTypes": "sh_attribute_types(sp.attributes)",
    "Duration": "toUInt64(greatest(toInt64(sp.end_time_unix_nano) - toInt64(sp.start_time_unix_nano), 0))",
    "StatusCode": "transform(sp.status.code, [0, 1, 2], ['Unset', 'Ok', 'Error'], 'Unset')",
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

# {columns} {settings} {select} {source} {format} are filled in by render_insert.
INSERT_TEMPLATE = """INSERT INTO {target} ({columns})
SETTINGS {settings}
WITH {functions}
SELECT
    {select}
FROM (
    SELECT
        res_service, res_attributes, res_attribute_types, res_dropped_attributes_count,
        ss.scope.name AS scope_name, ss.scope.version AS scope_version, ss.spans AS spans
    FROM (
        SELECT
            rs.resource.attributes.value.string_value[indexOf(rs.resource.attributes.key, 'service.name')]
                AS res_service,
            sh_attributes(rs.resource.attributes) AS res_attributes,
            sh_attribute_types(rs.resource.attributes) AS res_attribute_types,
            rs.resource.dropped_attributes_count AS res_dropped_attributes_count,
            rs.scope_spans AS scope_spans
        FROM {source}
        ARRAY JOIN resource_spans AS rs
    )
    ARRAY JOIN scope_spans AS ss
)
ARRAY JOIN arrayFilter((sp, tid, sid, pid, t0, t1, te) -> {valid},
                       spans, spans.trace_id, spans.span_id, spans.parent_span_id,
                       spans.start_time_unix_nano, spans.end_time_unix_nano,
                       spans.events.time_unix_nano) AS sp{format}"""


def _literal(text: str) -> str:
    """A ClickHouse string literal (for the schema, the structure and file paths; never for
    data)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_functions() -> str:
    """The named lambdas of the INSERT, for a ``WITH`` clause."""
    return _FUNCTIONS.strip().replace("'{marker}'", _literal(INCOMPATIBLE_MARKER))


def render_insert(target: str, columns: Sequence[str], source: str, token: str | None = None,
                  fmt: str = "", schema_file: str | None = None) -> str:
    """The INSERT statement: ``columns`` (names of COLUMN_EXPRESSIONS) of ``target`` (quoted
    ``db.table``) from ``source`` (a table function over the messages). ``schema_file``: the
    .proto by absolute path (embedded chDB, which would otherwise cache a schema given as text
    in a ``__cache__`` folder of the current directory); else the schema travels as text
    (a server keeps that cache in its own directory)."""
    if schema_file:
        settings = {"format_schema": _literal(f"{schema_file}:{MESSAGE_NAME}")}
    else:
        settings = {
            "format_schema_source": _literal("string"),
            "format_schema": _literal(otlp_proto_text()),
            "format_schema_message_name": _literal(MESSAGE_NAME),
        }
    settings["input_format_protobuf_oneof_presence"] = "1"
    if token:  # None or "" (SpanBatch.insert_token's "none"): no token
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise ValueError(f"invalid deduplication token {token!r}: use 1-512 of A-Z a-z 0-9 _.:@/+=-")
        settings["insert_deduplication_token"] = _literal(token)
    return INSERT_TEMPLATE.format(
        target=target,
        columns=", ".join(f"`{name}`" for name in columns),
        settings=", ".join(f"{key} = {value}" for key, value in settings.items()),
        functions=sql_functions(),
        select=",\n    ".join(COLUMN_EXPRESSIONS[name] for name in columns),
        source=source,
        valid=_VALID_SPAN.format(max_time=int(MAX_TIME_NS)),
        format=fmt,
    )


def _is_chdb(client) -> bool:
    return str(getattr(client, "uri", "")).startswith("chdb:") or type(client).__name__ == "ChdbClient"


class NativeProtobufInserter:
    """Inserts length-delimited ``ExportTraceServiceRequest`` messages into
    ``database.table`` with ClickHouse's own protobuf parser (see the module docstring for the
    contract). ``columns``: the table's column names (e.g. ``TraceWriter.columns``); None reads
    them. Only the columns the table has are written, as ``TraceWriter`` does."""

    def __init__(self, client, database: str, table: str, columns: Iterable[str] | None = None,
                 *, tmp_dir: str | None = None):
        self._client = client
        self._target = f"{quote_identifier(database, 'database name')}.{quote_identifier(table, 'table name')}"
        have = set(columns) if columns is not None else table_columns(client, database, table)
        if not have:
            raise StoreError(f"table {database}.{table} does not exist (is create_schema off?)")
        self._columns = [name for name in COLUMN_EXPRESSIONS if name in have]
        self._embedded = _is_chdb(client)
        self._tmp_dir = tmp_dir

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def statement(self, source: str, token: str | None = None, fmt: str = "") -> str:
        schema_file = None
        if self._embedded:
            schema_file = str(resources.files("spanhouse.store").joinpath(PROTO_FILE))
            if _GLOB.search(schema_file) or "'" in schema_file:
                schema_file = None
        return render_insert(self._target, self._columns, source, token, fmt, schema_file)

    def insert_messages(self, messages: Iterable[bytes], token: str | None = None) -> None:
        """Insert serialized ``ExportTraceServiceRequest`` messages (one INSERT)."""
        self.insert_bytes(encode_delimited(messages), token)

    def insert_bytes(self, payload: bytes, token: str | None = None) -> None:
        """Insert a payload of length-delimited ``ExportTraceServiceRequest`` messages."""
        if not payload:
            return
        if not self._embedded:
            sql = self.statement(f"input({_literal(INPUT_STRUCTURE)})", token, "\nFORMAT Protobuf")
            self._run(sql, data=bytes(payload))
            return
        fd, path = tempfile.mkstemp(prefix="spanhouse-otlp-", suffix=".pb", dir=self._tmp_dir)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
            self.insert_file(path, token)
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def insert_file(self, path: str, token: str | None = None) -> None:
        """Insert the length-delimited messages of a file. Embedded chDB reads the file itself;
        for a server its bytes are sent as the request body."""
        if not self._embedded:
            with open(path, "rb") as file:
                self.insert_bytes(file.read(), token)
            return
        path = os.path.abspath(path)
        if _GLOB.search(path):  # file() would expand these as a glob
            raise ConfigError(f"cannot read {path!r} with file(): it has glob characters")
        source = f"file({_literal(path)}, 'Protobuf', {_literal(INPUT_STRUCTURE)})"
        self._run(self.statement(source, token))

    def _run(self, sql: str, data: bytes | None = None) -> None:
        try:
            if data is None:
                self._client.command(sql)
            else:
                self._client.command(sql, data=data)
        except Exception as exc:  # driver errors -> our typed errors
            if INCOMPATIBLE_MARKER in str(exc):
                raise NativeIncompatible(
                    f"insert into {self._target} refused: a request nests attributes deeper "
                    "than one level; use the Python path") from exc
            raise StoreError(f"native protobuf insert into {self._target} failed: {exc}") from exc
