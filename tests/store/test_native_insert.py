"""The native insert (ClickHouse parses OTLP protobuf itself) writes the Python path's rows.

Every request goes into one table through the Python path (``decode_proto_bytes`` +
``TraceWriter``) and into a second, identical table through ``NativeProtobufInserter`` (or,
when ``native_compatible`` says no, through the Python path again); then every column of every
row of both tables must be equal. Crafted requests cover the edge cases one by one, and a few
thousand seeded random and mutated requests cover their combinations.
"""

from __future__ import annotations

import copy
import math
import random
import re
import struct
from importlib import resources

import numpy as np
import orjson
import pyarrow as pa
import pytest
from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from spanhouse.model.attributes import format_double
from spanhouse.model.batch import SpanBatch
from spanhouse.model.limits import MAX_TIME_NS
from spanhouse.model.otlp_proto import decode_proto_bytes
from spanhouse.store.native_insert import (
    PROTO_FILE, NativeIncompatible, NativeProtobufInserter, encode_delimited, native_compatible,
    split_native, sql_functions,
)
from spanhouse.store.schema import create_schema, enable_deduplication
from tests.exporters import any_value
from spanhouse.store.writer import TraceWriter

PY, NATIVE = "py_traces", "native_traces"
TIME_LIMIT = MAX_TIME_NS  # a span with a time at or past it is rejected


# ---------------------------------------------------------------------------- fixtures, helpers
class Store:
    def __init__(self, client, database):
        self.client, self.database = client, database
        create_schema(client, database, PY)
        create_schema(client, database, NATIVE)
        self.py_writer = TraceWriter(client, database, PY)
        self.native_writer = TraceWriter(client, database, NATIVE)
        self.inserter = NativeProtobufInserter(client, database, NATIVE, self.native_writer.columns)

    def ingest(self, bodies: list[bytes], chunk: int = 400) -> tuple[int, int]:
        """Python path into PY; native path (Python for the incompatible) into NATIVE.
        Returns (requests sent natively, requests routed to Python)."""
        batch = SpanBatch.concat(decode_proto_bytes(b).batch for b in bodies)
        if len(batch):
            self.py_writer.write(batch)
        native, python = split_native(bodies)
        for lo in range(0, len(native), chunk):
            self.inserter.insert_messages([bodies[i] for i in native[lo:lo + chunk]])
        routed = SpanBatch.concat(decode_proto_bytes(bodies[i]).batch for i in python)
        if len(routed):
            self.native_writer.write(routed)
        return len(native), len(python)

    def rows(self, table: str) -> list[str]:
        text = self.client.raw_query(f"SELECT * FROM `{self.database}`.`{table}`", fmt="TabSeparated")
        return sorted(line for line in text.decode("utf-8").split("\n") if line)  # not splitlines: U+2028

    def count(self, table: str) -> int:
        return int(self.client.command(f"SELECT count() FROM `{self.database}`.`{table}`"))

    def assert_same_rows(self) -> int:
        py, native = self.rows(PY), self.rows(NATIVE)
        if py != native:
            names = [r[0] for r in self.client.query(
                f"SELECT name FROM system.columns WHERE database = '{self.database}' "
                f"AND table = '{PY}' ORDER BY position").result_rows]
            only_py = [r for r in py if r not in set(native)][:3]
            only_native = [r for r in native if r not in set(py)][:3]
            detail = []
            for a, b in zip(only_py, only_native):
                for name, x, y in zip(names, a.split("\t"), b.split("\t")):
                    if x != y:
                        detail.append(f"{name}: python={x[:300]!r} native={y[:300]!r}")
            raise AssertionError(
                f"{len(py)} python rows, {len(native)} native rows; first differences:\n"
                + "\n".join(detail[:20]) + f"\nonly python: {only_py[:1]}\nonly native: {only_native[:1]}")
        return len(py)


@pytest.fixture
def store(client, database):
    return Store(client, database)


av = any_value  # list -> array, dict/tuple of pairs -> kvlist, None -> empty


def kvs(*pairs) -> list[KeyValue]:
    return [KeyValue(key=k, value=av(v)) for k, v in pairs]


def tid(n: int) -> bytes:
    return n.to_bytes(16, "big")


def sid(n: int) -> bytes:
    return n.to_bytes(8, "big")


def request(*resources_) -> ExportTraceServiceRequest:
    """resources_: (resource attributes or None, [(scope (name, version) or None, [span dict])])."""
    req = ExportTraceServiceRequest()
    for res_attrs, scopes in resources_:
        rs = req.resource_spans.add()
        if res_attrs is not None:
            rs.resource.attributes.extend(res_attrs)
        for scope, spans in scopes:
            ss = rs.scope_spans.add()
            if scope is not None:
                ss.scope.name, ss.scope.version = scope
            for fields in spans:
                span = ss.spans.add()
                for name, value in fields.items():
                    if name == "attributes":
                        span.attributes.extend(value)
                    elif name == "events":
                        for e in value:
                            span.events.add(**e)
                    elif name == "links":
                        for link in value:
                            span.links.add(**link)
                    elif name == "status":
                        span.status.code, span.status.message = value
                    else:
                        setattr(span, name, value)
    return req


def span(n: int, **fields) -> dict:
    base = {"trace_id": tid(n + 1), "span_id": sid(n + 1), "name": f"span-{n}",
            "start_time_unix_nano": 1_700_000_000_000_000_000 + n,
            "end_time_unix_nano": 1_700_000_000_000_500_000 + n}
    base.update(fields)
    return base


# ---------------------------------------------------------------------------- crafted requests
EVERY_VALUE = [
    ("s", "GET"), ("s.empty", ""), ("s.unicode", "héllo 中文 😀 \u2028"),
    ("s.escapes", 'quote " backslash \\ slash / tab \t nl \n nul \x00 \x1f \x7f'),
    ("b.true", True), ("b.false", False),
    ("i.zero", 0), ("i.neg", -1), ("i.max", 2**63 - 1), ("i.min", -2**63),
    ("d.zero", 0.0), ("d.negzero", -0.0), ("d.nan", math.nan), ("d.inf", math.inf),
    ("d.ninf", -math.inf), ("d.tiny", 5e-324), ("d.max", 1.7976931348623157e308),
    ("d.1e-7", 1e-7), ("d.1e-6", 1e-6), ("d.1e-5", 1.5e-5), ("d.1e15", 1e15), ("d.1e16", 1e16),
    ("d.1e20", 1.2345e20), ("d.1e21", 1e21), ("d.frac", 0.1), ("d.whole", 100.0),
    ("d.neg", -2.5e-10),
    ("y.empty", b""), ("y.bin", b"\x00\x01\xfe\xff"),
    ("empty", None),
    ("a.empty", []), ("a.mixed", ["x", 1, True, 2.5, None, b"\xff", -0.0, math.nan, math.inf,
                                 1e16, 1e-6, 100.0, 'q"\\/\n\x01\x0b\x1f é 😀']),
    ("k.empty", {}),
    ("k.mixed", (("z", 1), ("a", "x"), ("é", True), ("", None), ("a", "last wins"),
                 ("n", math.nan), ("y", b"\x01"), ("d", 1e21), ("\x01key\"", 0.5))),
    ("", "empty key"), ("s", "duplicate key"),
]


def strindex_attribute() -> KeyValue:
    return KeyValue(key="strindex", value=AnyValue(string_value_strindex=7))


def crafted_requests() -> list[ExportTraceServiceRequest]:
    every = kvs(*EVERY_VALUE) + [strindex_attribute()]
    reqs = [
        # every AnyValue kind on the resource, the span, events and links
        request((kvs(("service.name", "checkout"), ("host.name", "h1")) + every, [
            (("io.test", "1.2.3"), [span(
                1, attributes=every, trace_state="congo=t61", flags=0xFFFFFFFF,
                dropped_attributes_count=3, dropped_events_count=4, dropped_links_count=5,
                kind=2, status=(2, "boom ✗"),
                events=[{"time_unix_nano": 1_700_000_000_000_000_001, "name": "exception",
                         "attributes": every, "dropped_attributes_count": 7},
                        {"time_unix_nano": 0, "name": ""},
                        {"time_unix_nano": TIME_LIMIT - 1, "name": "late", "attributes": kvs(("a", 1))}],
                links=[{"trace_id": tid(9), "span_id": sid(9), "trace_state": "x=y",
                        "attributes": every, "dropped_attributes_count": 2, "flags": 0x301},
                       {"trace_id": b"", "span_id": b"\x01\x02"},
                       {"trace_id": b"\x00" * 16, "span_id": b"\x00" * 8}],
            )]),
        ])),
        # kinds and status codes, in and out of range; end before start; zero times
        request((kvs(("service.name", "kinds")), [(None, [
            span(10 + k, kind=k, status=(c, f"c{c}")) for k, c in
            [(0, 0), (1, 1), (3, 2), (4, 0), (5, 1), (6, 3), (99, -1), (-1, 7), (-7, -3)]] + [
            span(30, start_time_unix_nano=5_000, end_time_unix_nano=1_000),
            span(31, start_time_unix_nano=0, end_time_unix_nano=0),
            span(32, start_time_unix_nano=TIME_LIMIT - 1, end_time_unix_nano=TIME_LIMIT - 1),
        ])])),
        # invalid ids are rejected, the valid spans around them kept
        request((kvs(("service.name", "ids")), [(("s", ""), [
            span(40), span(41, trace_id=b"\x01" * 15), span(42, trace_id=b"\x00" * 16),
            span(43, trace_id=b""), span(44, span_id=b"\x01" * 7), span(45, span_id=b"\x00" * 8),
            span(46, parent_span_id=b"\x01" * 4), span(47, parent_span_id=b"\x00" * 8),
            span(48, parent_span_id=sid(0xABCDEF)), span(49, trace_id=b"\xff" * 17),
            span(50, parent_span_id=b"\xab" * 9),
            # times at or past MAX_TIME_NS: rejected too
            span(51, start_time_unix_nano=TIME_LIMIT), span(52, end_time_unix_nano=2**64 - 1),
            span(53, events=[{"time_unix_nano": 1}, {"time_unix_nano": TIME_LIMIT, "name": "e"}]),
            span(54, start_time_unix_nano=TIME_LIMIT - 1, end_time_unix_nano=TIME_LIMIT - 1,
                 events=[{"time_unix_nano": TIME_LIMIT - 1}]),
        ])])),
        # no resource, no service.name, a non-string service.name, two service.names
        request((None, [(None, [span(60)])]),
                (kvs(("host.name", "x")), [(("a", "b"), [span(61)])]),
                (kvs(("service.name", 42)), [(None, [span(62)])]),
                (kvs(("service.name", ""), ("service.name", "second")), [(None, [span(63)])]),
                (kvs(("service.name", "empty scopes")), []),
                (kvs(("service.name", "empty spans")), [(("x", "y"), [])])),
        # several resources and scopes, unicode and empty strings everywhere
        request(*[(kvs(("service.name", f"svc-{r} ü")), [
            ((f"scope-{r}-{s}", "" if s else "v1"), [span(100 + 10 * r + s * 3 + i, name="" if i else "ñame 😀",
                                                           trace_state="", attributes=kvs(("", ""), ("k", "")))
                                                     for i in range(3)])
            for s in range(2)]) for r in range(3)]),
        # an empty request, a request with an empty resource
        request(),
        request((None, [])),
    ]
    return reqs


def test_crafted_requests_match_the_python_path(store):
    bodies = [r.SerializeToString() for r in crafted_requests()]
    assert all(native_compatible(b) for b in bodies)
    native, python = store.ingest(bodies)
    assert (native, python) == (len(bodies), 0)
    assert store.assert_same_rows() == sum(len(decode_proto_bytes(b).batch) for b in bodies) == 39


def test_each_crafted_request_alone(store):
    """One INSERT per request too (a request is then its own block)."""
    for r in crafted_requests():
        store.ingest([r.SerializeToString()])
    store.assert_same_rows()


# ---------------------------------------------------------------------------- what the SQL cannot match
def deep_requests() -> list[ExportTraceServiceRequest]:
    nested = [("a", [[1]]), ("a", [{}]), ("a", [[]]), ("k", {"x": [1]}), ("k", {"x": {"y": 1}}),
              ("a", ["ok", (("x", 1),)])]
    out = []
    for key, value in nested:
        attrs = kvs((key, value))
        out.append(request((kvs(("service.name", "deep")), [(None, [span(1, attributes=attrs)])])))
        out.append(request((attrs, [(None, [span(2)])])))
        out.append(request((None, [(None, [span(3, events=[{"name": "e", "attributes": attrs}])])])))
        out.append(request((None, [(None, [span(4, links=[{"trace_id": tid(1), "attributes": attrs}])])])))
    return out


def test_native_compatible_refuses_deep_attributes():
    for r in deep_requests():
        assert not native_compatible(r)
        assert not native_compatible(r.SerializeToString())
    ok = request((kvs(("a", [1, "x", None, b"", 2.5]), ("k", {"x": 1})),
                  [(None, [span(1, end_time_unix_nano=TIME_LIMIT - 1)])]))
    assert native_compatible(ok) and native_compatible(ok.SerializeToString())
    assert not native_compatible(b"\xff\xff\xff")  # not a message


def test_the_insert_refuses_what_it_cannot_match_and_writes_nothing(store):
    """The SQL's own guard, for a caller that skipped native_compatible: the whole INSERT fails
    with NativeIncompatible before a row is written, also with good requests around it."""
    good = [r.SerializeToString() for r in crafted_requests()[:3]]
    for bad in deep_requests():
        with pytest.raises(NativeIncompatible):
            store.inserter.insert_messages(good + [bad.SerializeToString()] + good)
    assert store.count(NATIVE) == 0
    # the deep requests go to the Python path and land there
    bodies = [r.SerializeToString() for r in deep_requests()]
    assert store.ingest(bodies) == (0, len(bodies))
    store.assert_same_rows()


# ---------------------------------------------------------------------------- random requests
_CHARS = (list("abcxyz AZ09_-.:/") + ['"', "\\", "\n", "\t", "\r", "\b", "\f", "\x00", "\x01",
          "\x0b", "\x0e", "\x1a", "\x1f", "\x7f", "é", "中", "😀", "\u2028", "\ufeff", "\\u001F"])
_KEYS = ["service.name", "http.method", "user.id", "a", "b", "", "é", "k\x00", "db.statement"]
_DOUBLES = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 2.2250738585072014e-308,
            1.7976931348623157e308, 1e-7, 9.999999999999999e-7, 1e-6, 1e-5, 9.99e-6, 1e-4, 0.1,
            0.5, 1.0, 100.0, 123456.789, 1e15, 9.999999999999999e15, 1e16, 1.2345e17, 1e20,
            9.999999999999999e20, 1e21, 1e22, 2**53 + 1.0, -3.0e-300]


def random_string(rng: random.Random) -> str:
    return "".join(rng.choice(_CHARS) for _ in range(rng.choice([0, 1, 3, 8, 20])))


def random_double(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(_DOUBLES) * rng.choice([1, -1])
    if pick < 0.6:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return rng.choice([1, -1]) * rng.randint(1, 10 ** rng.randint(1, 17)) * 10.0 ** rng.randint(-25, 25)


def random_value(rng: random.Random, depth: int = 0) -> AnyValue:
    kinds = ["string", "bool", "int", "double", "bytes", "empty", "strindex"]
    weights = [30, 8, 10, 12, 5, 3, 1]
    if depth == 0 or rng.random() < 0.01:  # a container inside a container: not native
        kinds += ["array", "kvlist"]
        weights += [6, 6]
    kind = rng.choices(kinds, weights)[0]
    if kind == "string":
        return AnyValue(string_value=random_string(rng))
    if kind == "bool":
        return AnyValue(bool_value=rng.random() < 0.5)
    if kind == "int":
        return AnyValue(int_value=rng.choice([0, -1, 1, 2**63 - 1, -2**63, rng.randint(-2**63, 2**63 - 1),
                                              rng.randint(-1000, 1000)]))
    if kind == "double":
        return AnyValue(double_value=random_double(rng))
    if kind == "bytes":
        return AnyValue(bytes_value=rng.randbytes(rng.randint(0, 9)))
    if kind == "empty":
        return AnyValue()
    if kind == "strindex":
        return AnyValue(string_value_strindex=rng.randint(0, 9))
    if kind == "array":
        return AnyValue(array_value=ArrayValue(values=[random_value(rng, depth + 1)
                                                       for _ in range(rng.randint(0, 4))]))
    return AnyValue(kvlist_value=KeyValueList(values=random_attributes(rng, depth + 1, 4)))


def random_attributes(rng: random.Random, depth: int = 0, most: int = 6) -> list[KeyValue]:
    out = []
    for _ in range(rng.randint(0, most)):
        key = rng.choice(_KEYS) if rng.random() < 0.6 else random_string(rng)
        out.append(KeyValue(key=key, value=random_value(rng, depth)))
    return out


def random_id(rng: random.Random, size: int) -> bytes:
    pick = rng.random()
    if pick < 0.9:
        return rng.randbytes(size)
    return rng.choice([b"", bytes(size), rng.randbytes(size - 1), rng.randbytes(size + 1)])


def random_time(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.8:
        return 1_700_000_000_000_000_000 + rng.randint(0, 10**12)
    # few distinct days: an INSERT may touch at most 100 partitions (days)
    return rng.choice([0, 1, TIME_LIMIT - 1, 4_102_444_800_123_456_789 + rng.randint(0, 10**12),
                       TIME_LIMIT, 2**64 - 1])  # the last two: the span is rejected


def random_request(rng: random.Random) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for _ in range(rng.randint(0, 3)):
        rs = req.resource_spans.add()
        if rng.random() < 0.9:
            attrs = random_attributes(rng)
            if rng.random() < 0.7:
                attrs.insert(rng.randint(0, len(attrs)), KeyValue(
                    key="service.name", value=av(rng.choice(["api", "db", "", "ü😀", 7]))))
            rs.resource.attributes.extend(attrs)
            rs.resource.dropped_attributes_count = rng.choice([0, 0, 1, 2**32 - 1])
        for _ in range(rng.randint(0, 2)):
            ss = rs.scope_spans.add()
            if rng.random() < 0.8:
                ss.scope.name, ss.scope.version = random_string(rng), random_string(rng)
            for _ in range(rng.randint(0, 4)):
                sp = ss.spans.add(
                    trace_id=random_id(rng, 16), span_id=random_id(rng, 8),
                    parent_span_id=rng.choice([b"", b"", random_id(rng, 8)]),
                    trace_state=random_string(rng), name=random_string(rng),
                    kind=rng.randint(-2, 7), flags=rng.choice([0, 1, rng.getrandbits(32)]),
                    start_time_unix_nano=random_time(rng), end_time_unix_nano=random_time(rng),
                    dropped_attributes_count=rng.choice([0, rng.getrandbits(32)]),
                    dropped_events_count=rng.choice([0, rng.getrandbits(32)]),
                    dropped_links_count=rng.choice([0, rng.getrandbits(32)]),
                )
                sp.attributes.extend(random_attributes(rng))
                sp.status.code = rng.randint(-1, 4)
                sp.status.message = random_string(rng)
                for _ in range(rng.choice([0, 0, 1, 3])):
                    sp.events.add(time_unix_nano=random_time(rng), name=random_string(rng),
                                  attributes=random_attributes(rng, most=3),
                                  dropped_attributes_count=rng.choice([0, 9]))
                for _ in range(rng.choice([0, 0, 1, 2])):
                    sp.links.add(trace_id=random_id(rng, 16), span_id=random_id(rng, 8),
                                 trace_state=random_string(rng), flags=rng.getrandbits(32),
                                 attributes=random_attributes(rng, most=3),
                                 dropped_attributes_count=rng.choice([0, 3]))
    return req


def mutate(rng: random.Random, req: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    """Small edits of a valid-shaped request: what a buggy SDK or a proxy might send."""
    out = copy.deepcopy(req)
    spans = [sp for rs in out.resource_spans for ss in rs.scope_spans for sp in ss.spans]
    for _ in range(rng.randint(1, 4)):
        pick = rng.randint(0, 9)
        if pick == 0 and spans:
            rng.choice(spans).trace_id = rng.choice([b"", bytes(16), b"\x01" * 15])
        elif pick == 1 and spans:
            sp = rng.choice(spans)
            sp.attributes.extend(list(sp.attributes))  # every key twice
        elif pick == 2 and spans:
            rng.choice(spans).ClearField("status")
        elif pick == 3 and out.resource_spans:
            rng.choice(out.resource_spans).ClearField("resource")
        elif pick == 4 and spans:
            sp = rng.choice(spans)
            sp.start_time_unix_nano, sp.end_time_unix_nano = sp.end_time_unix_nano, sp.start_time_unix_nano
        elif pick == 5 and spans:
            sp = rng.choice(spans)
            for kv in sp.attributes:
                kv.value.CopyFrom(random_value(rng))
        elif pick == 6 and spans:
            rng.choice(spans).parent_span_id = bytes(8)
        elif pick == 7 and out.resource_spans:
            rs = out.resource_spans.add()
            rs.CopyFrom(rng.choice(out.resource_spans[:-1]) if len(out.resource_spans) > 1 else rs)
        elif pick == 8 and spans:
            rng.choice(spans).kind = rng.choice([-(2**31), 2**31 - 1])
        elif spans:
            sp = rng.choice(spans)
            sp.name = sp.name + "\x00" + "é" * rng.randint(0, 3)
    return out


def reference_compatible(req: ExportTraceServiceRequest) -> bool:
    """native_compatible's rule, spelled out on the message (slow; for the test)."""
    def deep(attributes) -> bool:
        for kv in attributes:
            which = kv.value.WhichOneof("value")
            inner = (kv.value.array_value.values if which == "array_value" else
                     [p.value for p in kv.value.kvlist_value.values] if which == "kvlist_value" else [])
            if any(v.WhichOneof("value") in ("array_value", "kvlist_value") for v in inner):
                return True
        return False

    for rs in req.resource_spans:
        if deep(rs.resource.attributes):
            return False
        for ss in rs.scope_spans:
            for sp in ss.spans:
                if deep(sp.attributes) or any(deep(e.attributes) for e in sp.events):
                    return False
                if any(deep(link.attributes) for link in sp.links):
                    return False
    return True


def test_random_and_mutated_requests_match_the_python_path(store):
    rng = random.Random(20240611)
    reqs = [random_request(rng) for _ in range(1600)]
    reqs += [mutate(rng, rng.choice(reqs)) for _ in range(600)]
    bodies = [r.SerializeToString() for r in reqs]
    for r, b in zip(reqs, bodies):
        assert native_compatible(b) == reference_compatible(r)
    native, python = store.ingest(bodies)
    assert native + python == len(bodies) == 2200
    assert native >= 2000 and python >= 10, (native, python)  # both paths taken
    rows = store.assert_same_rows()
    assert rows > 3000


# ---------------------------------------------------------------------------- the formats alone
def test_doubles_format_as_go_and_as_orjson(client, database):
    """sh_go_double == format_double (Go's AsString) and sh_json_double == orjson's float, on
    100k random doubles (every exponent, random bit patterns, the boundaries)."""
    rng = random.Random(7)
    values = [v * s for v in _DOUBLES for s in (1, -1)]
    values += [random_double(rng) for _ in range(100_000)]
    values += [float(f"{rng.randint(1, 10**17)}e{e}") for e in range(-9, 24) for _ in range(50)]
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.command(f"CREATE TABLE `{database}`.d (i UInt32, x Float64) ENGINE = Memory")
    client.insert_arrow(f"`{database}`.d", pa.table({"i": np.arange(len(values), dtype=np.uint32),
                                                    "x": np.array(values, dtype=np.float64)}))
    got = client.query(f"WITH {sql_functions()} SELECT sh_go_double(x), sh_json_double(x) "
                       f"FROM `{database}`.d ORDER BY i").result_rows
    assert len(got) == len(values)
    bad = [(v, g, j) for v, (g, j) in zip(values, got)
           if g != format_double(v) or j != orjson.dumps(v).decode()]
    assert not bad, bad[:10]


def test_json_strings_escape_as_orjson(client, database):
    rng = random.Random(11)
    strings = ["", '"', "\\", "/", "\\u001F", "\x00\x1f\x7f", "é😀\u2028"] + [
        "".join(rng.choice(_CHARS + [chr(c) for c in range(32)]) for _ in range(rng.randint(0, 30)))
        for _ in range(20_000)]
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.command(f"CREATE TABLE `{database}`.s (i UInt32, s String) ENGINE = Memory")
    client.insert_arrow(f"`{database}`.s", pa.table({"i": np.arange(len(strings), dtype=np.uint32),
                                                    "s": pa.array(strings, pa.string())}))
    got = [r[0] for r in client.query(f"WITH {sql_functions()} SELECT sh_json_string(s) "
                                      f"FROM `{database}`.s ORDER BY i").result_rows]
    want = [orjson.dumps(s).decode() for s in strings]
    bad = [(s, g, w) for s, g, w in zip(strings, got, want) if g != w]
    assert not bad, bad[:10]


# ---------------------------------------------------------------------------- deduplication, API
def test_deduplication_token(store):
    enable_deduplication(store.client, store.database, NATIVE)
    bodies = [r.SerializeToString() for r in crafted_requests()[:3]]
    store.inserter.insert_messages(bodies, token="wal-segment-7:0")
    once = store.count(NATIVE)
    assert once > 0
    store.inserter.insert_messages(bodies, token="wal-segment-7:0")  # a retry: dropped
    assert store.count(NATIVE) == once
    summary = f"`{store.database}`.`{NATIVE}_trace_summary`"
    traces = int(store.client.command(f"SELECT sum(SpanCount) FROM {summary}"))
    assert traces == once  # the views' tables dropped the repeat too
    store.inserter.insert_messages(bodies, token="wal-segment-7:1")
    assert store.count(NATIVE) == 2 * once
    with pytest.raises(ValueError):
        store.inserter.insert_messages(bodies, token="x'; DROP TABLE t; --")


def test_insert_file_and_only_the_tables_columns(store, tmp_path):
    """insert_file reads a file of delimited messages; a table without Spanhouse's extra
    columns (the collector exporter's) gets only its own."""
    bodies = [r.SerializeToString() for r in crafted_requests()]
    path = tmp_path / "requests.pb"
    path.write_bytes(encode_delimited(bodies))
    store.inserter.insert_file(str(path))
    batch = SpanBatch.concat(decode_proto_bytes(b).batch for b in bodies)
    store.py_writer.write(batch)
    store.assert_same_rows()

    columns = set(store.native_writer.columns) - {
        "AdjustedCount", "SamplingPolicy", "SpanAttributeTypes", "ResourceAttributeTypes",
        "Events.AttributeTypes", "Links.AttributeTypes", "TraceFlags", "ResourceDroppedAttributesCount"}
    narrow = NativeProtobufInserter(store.client, store.database, NATIVE, columns)
    assert set(narrow.columns) == columns
    assert "AdjustedCount" not in narrow.statement("file('x')")


def test_encode_delimited_is_protobufs_write_delimited():
    from google.protobuf.internal.decoder import _DecodeVarint
    bodies = [b"", b"x" * 127, b"y" * 128, b"z" * 70_000]
    payload = encode_delimited(bodies)
    pos, out = 0, []
    while pos < len(payload):
        size, pos = _DecodeVarint(payload, pos)
        out.append(payload[pos:pos + size])
        pos += size
    assert out == bodies


def test_server_statement_reads_the_request_body():
    """For a ClickHouse server the messages are the body of INSERT ... FROM input(...)."""
    class FakeHttpClient:
        uri = "http://localhost:8123"

        def __init__(self):
            self.calls = []

        def command(self, sql, data=None):
            self.calls.append((sql, data))

    fake = FakeHttpClient()
    inserter = NativeProtobufInserter(fake, "otel", "otel_traces", ["TraceId", "SpanId", "Timestamp"])
    inserter.insert_bytes(b"\x00", token="t1")
    (sql, data), = fake.calls
    assert data == b"\x00"
    assert "FROM input('resource_spans Array(" in sql
    assert sql.rstrip().endswith("FORMAT Protobuf")
    assert "insert_deduplication_token = 't1'" in sql
    assert sql.startswith("INSERT INTO `otel`.`otel_traces` (`Timestamp`, `TraceId`, `SpanId`)")


# ---------------------------------------------------------------------------- the .proto file
_PROTO_TYPES = {
    "double": FieldDescriptor.TYPE_DOUBLE, "float": FieldDescriptor.TYPE_FLOAT,
    "int64": FieldDescriptor.TYPE_INT64, "uint64": FieldDescriptor.TYPE_UINT64,
    "int32": FieldDescriptor.TYPE_INT32, "fixed64": FieldDescriptor.TYPE_FIXED64,
    "fixed32": FieldDescriptor.TYPE_FIXED32, "bool": FieldDescriptor.TYPE_BOOL,
    "string": FieldDescriptor.TYPE_STRING, "bytes": FieldDescriptor.TYPE_BYTES,
    "uint32": FieldDescriptor.TYPE_UINT32, "sfixed32": FieldDescriptor.TYPE_SFIXED32,
    "sfixed64": FieldDescriptor.TYPE_SFIXED64, "sint32": FieldDescriptor.TYPE_SINT32,
    "sint64": FieldDescriptor.TYPE_SINT64,
}


def parse_proto(text: str) -> dict[str, dict[str, tuple]]:
    """A tiny parser for the subset otlp_traces.proto uses: message path -> field name ->
    (number, type name, repeated, oneof name)."""
    text = re.sub(r"//[^\n]*", "", text)
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_.]*|\d+|[{};=]|\"[^\"]*\"", text)
    messages: dict[str, dict[str, tuple]] = {}
    stack: list[tuple[str, str]] = []  # (kind, name)
    i = 0

    def path() -> str:
        return ".".join(name for kind, name in stack if kind == "message")

    while i < len(tokens):
        tok = tokens[i]
        if tok in ("syntax", "package"):
            i = tokens.index(";", i) + 1
        elif tok in ("message", "enum", "oneof"):
            stack.append((tok, tokens[i + 1]))
            assert tokens[i + 2] == "{"
            if tok == "message":
                messages[path()] = {}
            i += 3
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "reserved":
            i = tokens.index(";", i) + 1
        elif stack and stack[-1][0] == "enum":
            assert tokens[i + 1] == "=" and tokens[i + 3] == ";", tokens[i:i + 4]
            i += 4
        else:
            repeated = tok == "repeated"
            if repeated:
                i += 1
            type_name, name, eq, number, semi = tokens[i:i + 5]
            assert eq == "=" and semi == ";", tokens[i:i + 5]
            oneof = stack[-1][1] if stack[-1][0] == "oneof" else None
            messages[path()][name] = (int(number), type_name, repeated, oneof)
            i += 5
    assert not stack
    return messages


def test_proto_file_matches_the_installed_opentelemetry_proto():
    """Every message of otlp_traces.proto has exactly the fields of opentelemetry-proto's
    message of the same name: same numbers, types, labels, message/enum types and oneofs."""
    text = resources.files("spanhouse.store").joinpath(PROTO_FILE).read_text(encoding="utf-8")
    mine = parse_proto(text)
    installed = {}

    def collect(descriptor, path):
        if path in installed:
            return
        installed[path] = descriptor
        for field in descriptor.fields:
            if field.message_type is not None:
                collect(field.message_type, _short(field.message_type))

    collect(ExportTraceServiceRequest.DESCRIPTOR, "ExportTraceServiceRequest")
    assert set(mine) == set(installed), set(mine) ^ set(installed)
    enums = {"Span.SpanKind", "Status.StatusCode"}
    for path, descriptor in installed.items():
        theirs = {}
        for field in descriptor.fields:
            if field.message_type is not None:
                type_name = _short(field.message_type)
            elif field.enum_type is not None:
                type_name = _short(field.enum_type)
                assert type_name in enums
            else:
                type_name = next(k for k, v in _PROTO_TYPES.items() if v == field.type)
            oneof = field.containing_oneof.name if field.containing_oneof else None
            theirs[field.name] = (field.number, type_name, field.label == FieldDescriptor.LABEL_REPEATED
                                  if hasattr(field, "label") else field.is_repeated, oneof)
        nested = set(installed) | enums  # "Event" inside Span is "Span.Event"
        ours = {name: (number, f"{path}.{t}" if f"{path}.{t}" in nested else t, repeated, oneof)
                for name, (number, t, repeated, oneof) in mine[path].items()}
        assert ours == theirs, path


def _short(descriptor) -> str:
    """The message's name within its file: "Span.Event" for opentelemetry.proto.trace.v1.Span.Event."""
    return descriptor.full_name[len(descriptor.file.package) + 1:]
