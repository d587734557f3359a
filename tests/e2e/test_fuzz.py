"""A bounded, seeded mutation fuzz of the four receivers of one real ``spanhouse serve``.

Valid requests (OTLP protobuf over HTTP and gRPC, OTLP/JSON, Zipkin v2 JSON) are mutated: bit
flips, truncation, splicing two requests, inserted and deleted bytes; extreme field values,
bad ids, deep nesting (within and beyond the limits), wrong JSON types, invalid UTF-8, corrupt
gzip. 4,000 cases take a few seconds. Every answer must be a 2xx or 4xx
(gRPC: OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED), never a 5xx, an INTERNAL or a hang; the
server must log no traceback, store every span it accepted (nothing dead-lettered), stay up,
and store a canary trace sent afterwards. Deterministic: ``random.Random(SEED)`` picks every
mutation (the trace ids of the seed requests are random, the mutations are not).
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import time

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from bench.workload import make_request

SEED = 20_261_203
CASES_PER_PROTOCOL = 1000
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GRPC_ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.RESOURCE_EXHAUSTED}
HUGE_NUMBERS = [2**63, 2**64, -(2**63) - 1, 10**30, -1, 1.5, 1e308, -1e308, 2**53 + 1,
                "18446744073709551616", "-1", "1e400", "NaN", "0x10", ""]
WRONG_TYPES = [None, True, [], {}, "", "x" * 300, 0, [None], {"a": {}}, [[[]]]]


# ---------------------------------------------------------------------------- seed requests
def proto_seeds(rng: random.Random) -> list[bytes]:
    seeds = []
    for n in (1, 3, 10):
        request, _ = make_request(n, 2, seed=rng.randrange(1 << 30))
        seeds.append(request.SerializeToString())
    request, _ = make_request(2, 2)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    value = span.attributes.add(key="nested").value
    for level in range(6):  # arrays and kvlists for the mutations to work on
        value = (value.array_value.values.add() if level % 2
                 else value.kvlist_value.values.add(key=f"k{level}").value)
    value.CopyFrom(AnyValue(bytes_value=b"\x00\xff"))
    event = span.events.add(name="exception", time_unix_nano=span.start_time_unix_nano)
    event.attributes.add(key="exception.type").value.string_value = "ValueError"
    link = span.links.add(trace_id=span.trace_id, span_id=b"\x01" * 8, flags=1)
    link.attributes.add(key="l").value.int_value = -5
    seeds.append(request.SerializeToString())
    return seeds


def otlp_json_seed() -> dict:
    t0 = time.time_ns()
    value = lambda **v: v  # noqa: E731
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "fuzz"}}]},
        "scopeSpans": [{"scope": {"name": "lib", "version": "1"}, "spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"00000000000000a{i}",
             "parentSpanId": "" if i == 0 else "00000000000000a0", "name": f"span {i}",
             "kind": i % 6, "flags": 1, "traceState": "a=b",
             "startTimeUnixNano": str(t0), "endTimeUnixNano": t0 + 1000,
             "attributes": [
                 {"key": "s", "value": value(stringValue="x")},
                 {"key": "i", "value": value(intValue="42")},
                 {"key": "d", "value": value(doubleValue=0.5)},
                 {"key": "b", "value": value(boolValue=True)},
                 {"key": "y", "value": value(bytesValue="AAE=")},
                 {"key": "a", "value": value(arrayValue={"values": [{"intValue": 1}, {
                     "kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}]})}],
             "events": [{"timeUnixNano": str(t0), "name": "e", "droppedAttributesCount": 0,
                         "attributes": [{"key": "e", "value": value(intValue=1)}]}],
             "links": [{"traceId": "5b8efff798038103d269b633813fc60d",
                        "spanId": "00000000000000b1", "flags": 1}],
             "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
             "droppedAttributesCount": 0}
            for i in range(3)]}]}]}


def zipkin_seed() -> list:
    t0 = time.time_ns() // 1000
    return [{"traceId": "5b8efff798038103d269b633813fc60e", "id": f"00000000000000c{i}",
             "parentId": None if i == 0 else "00000000000000c0", "name": f"get /{i}",
             "kind": ["SERVER", "CLIENT", "PRODUCER"][i], "timestamp": t0, "duration": 150,
             "localEndpoint": {"serviceName": "zfuzz", "ipv4": "10.0.0.1", "port": 8080},
             "remoteEndpoint": {"serviceName": "db", "ipv6": "::1", "port": 5432},
             "annotations": [{"timestamp": t0 + 1, "value": 'retry|{"attempt":2}|0'}],
             "tags": {"http.method": "GET", "error": "false", "otel.status_code": "OK"},
             "shared": i == 1} for i in range(3)]


# -------------------------------------------------------------------------------- mutations
def mutate_bytes(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One to three byte-level mutations."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(8)
        pos = rng.randrange(len(out) + 1)
        if choice == 0 and out:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(out))
                out[i] ^= 1 << rng.randrange(8)
        elif choice == 1:  # truncate
            del out[pos:]
        elif choice == 2:  # splice with another request
            other = rng.choice(others)
            out = out[:pos] + other[rng.randrange(len(other) + 1):]
        elif choice == 3:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif choice == 4:  # delete a run
            del out[pos:pos + rng.randint(1, 32)]
        elif choice == 5:  # duplicate a run
            out[pos:pos] = out[max(0, pos - 64):pos]
        elif choice == 6:  # a maximal varint / invalid UTF-8 / NUL run
            out[pos:pos] = rng.choice([b"\xff" * 10 + b"\x01", b"\xc3\x28\xa0\xa1", b"\x00" * 8,
                                       b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
        elif out:  # overwrite a byte with an extreme value
            out[rng.randrange(len(out))] = rng.choice([0, 0x7F, 0x80, 0xFF])
    return bytes(out)


def mutate_proto(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """A field-level mutation of an OTLP protobuf request (extreme values, deep nesting,
    invalid UTF-8 in place), sometimes followed by a byte-level one."""
    request = ExportTraceServiceRequest.FromString(data)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    for _ in range(rng.randint(1, 3)):
        span = rng.choice(spans)
        choice = rng.randrange(7)
        if choice == 0:
            field = rng.choice(["start_time_unix_nano", "end_time_unix_nano"])
            setattr(span, field, rng.choice([0, 2**63 - 1, 2**63, 2**64 - 1, 1]))
        elif choice == 1:
            span.trace_id = rng.choice([b"", bytes(16), b"\x01" * 15, b"\x01" * 17, b"\x01" * 16])
        elif choice == 2:
            span.span_id = rng.choice([b"", bytes(8), b"\x02" * 7, b"\x02" * 9])
            span.parent_span_id = rng.choice([b"", bytes(8), b"\x03" * 3])
        elif choice == 3:
            span.kind = rng.choice([0, 5, 6, 2**31 - 1, -(2**31)])
            span.flags = rng.choice([0, 2**32 - 1])
            span.dropped_attributes_count = rng.choice([0, 2**32 - 1])
            span.status.code = rng.choice([0, 2, 3, -1])
        elif choice == 4:  # nested arrays/kvlists, some deeper than the parser reads
            value = span.attributes.add(key="deep").value
            for level in range(rng.choice([10, 24, 31, 32, 45, 47, 48, 60])):
                value = (value.array_value.values.add() if rng.random() < 0.5
                         else value.kvlist_value.values.add(key="k").value)
            value.int_value = 2**63 - 1
        elif choice == 5:
            event = span.events.add(name="e" * rng.choice([0, 1, 5000]))
            event.time_unix_nano = rng.choice([0, 2**64 - 1, span.start_time_unix_nano])
        else:
            span.name = rng.choice(["", "n" * 100_000, "\u0000\u202e\U0001f600"])
    body = request.SerializeToString()
    if rng.random() < 0.3:  # invalid UTF-8 inside a string, framing intact
        at = body.find(b"GET /api/products")
        if at >= 0:
            body = body[:at] + b"\xff\xfe" + body[at + 2:]
    if rng.random() < 0.2:
        body = mutate_bytes(rng, body, others)
    return body


def _nodes(doc, path=()):
    """Every (container, key) in a JSON document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield doc, key
            yield from _nodes(value)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield doc, i
            yield from _nodes(value)


def deep_value_text(rng: random.Random) -> str:
    levels = rng.choice([20, 24, 25, 40, 64, 330, 900, 1100])
    if rng.random() < 0.5:
        head, tail = '{"arrayValue":{"values":[', "]}}"
    else:
        head, tail = '{"kvlistValue":{"values":[{"key":"k","value":', "}]}}"
    return head * levels + '{"intValue":"1"}' + tail * levels


def mutate_json(rng: random.Random, doc, others: list[bytes]) -> bytes:
    """A structural mutation of a JSON document (then, sometimes, a byte-level one)."""
    doc = copy.deepcopy(doc)
    nodes = list(_nodes(doc))
    deep = None
    for _ in range(rng.randint(1, 3)):
        if not nodes:
            break
        container, key = rng.choice(nodes)
        choice = rng.randrange(6)
        if choice == 0:
            container[key] = rng.choice(HUGE_NUMBERS)
        elif choice == 1:
            container[key] = copy.deepcopy(rng.choice(WRONG_TYPES))
        elif choice == 2 and isinstance(container, dict):
            del container[key]
            nodes = list(_nodes(doc))
        elif choice == 3:  # a deeply nested value, spliced in as text below
            container[key] = {"stringValue": "@@deep@@"}
            deep = deep_value_text(rng)
        elif choice == 4 and isinstance(container, list):
            container.extend(copy.deepcopy(container[:2]))
        else:
            container[key] = "\udcff" if rng.random() < 0.5 else "é" * rng.randint(1, 50)
    text = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if deep:
        text = text.replace(b'{"stringValue": "@@deep@@"}', deep.encode(), 1)
    if rng.random() < 0.3:
        text = mutate_bytes(rng, text, others)
    return text


def maybe_gzip(rng: random.Random, body: bytes) -> tuple[bytes, dict]:
    if rng.random() < 0.1:
        packed = gzip.compress(body, 1)
        if rng.random() < 0.3:
            packed = mutate_bytes(rng, packed, [packed])
        return packed, {"Content-Encoding": "gzip"}
    return body, {}


# ------------------------------------------------------------------------------------- test
def test_mutation_fuzz_of_the_receivers(server):
    rng = random.Random(SEED)
    protos = proto_seeds(rng)
    otlp_json, zipkin = otlp_json_seed(), zipkin_seed()
    json_bytes = [json.dumps(otlp_json).encode(), json.dumps(zipkin).encode()]
    statuses: dict[str, dict] = {"http-proto": {}, "http-json": {}, "zipkin": {}, "grpc": {}}
    started = time.monotonic()

    def count(protocol: str, status) -> None:
        statuses[protocol][status] = statuses[protocol].get(status, 0) + 1

    with httpx.Client(timeout=30) as client, grpc.insecure_channel(server.grpc_endpoint) as channel:
        export = channel.unary_unary(EXPORT, request_serializer=None,
                                     response_deserializer=ExportTraceServiceResponse.FromString)
        for case in range(CASES_PER_PROTOCOL):
            cases = [
                ("http-proto", server.http_url + "/v1/traces", "application/x-protobuf",
                 (mutate_proto if case % 2 else mutate_bytes)(rng, rng.choice(protos), protos)),
                ("http-json", server.http_url + "/v1/traces", "application/json",
                 mutate_json(rng, otlp_json, json_bytes)),
                ("zipkin", server.zipkin_url + "/api/v2/spans", "application/json",
                 mutate_json(rng, zipkin, json_bytes)),
            ]
            for protocol, url, content_type, body in cases:
                body, headers = maybe_gzip(rng, body)
                r = client.post(url, content=body, headers={"Content-Type": content_type, **headers})
                count(protocol, r.status_code)
                assert r.status_code < 500, (protocol, case, r.status_code, r.text[:300], body[:300])
            body = (mutate_bytes if case % 2 else mutate_proto)(rng, rng.choice(protos), protos)
            try:
                export(body, timeout=30)
                count("grpc", "OK")
            except grpc.RpcError as exc:
                count("grpc", exc.code().name)
                assert exc.code() in GRPC_ALLOWED, (case, exc.code(), exc.details(), body[:300])
    elapsed = time.monotonic() - started
    print(f"{4 * CASES_PER_PROTOCOL} cases in {elapsed:.1f}s: {statuses}")

    # the fuzz reached both sides of every receiver: some requests accepted, some refused
    for protocol, seen in statuses.items():
        accepted = sum(n for s, n in seen.items() if s in (200, 202, "OK"))
        assert 0 < accepted < CASES_PER_PROTOCOL, (protocol, seen)

    # still up; a canary over OTLP/HTTP and one over gRPC are stored behind everything accepted
    assert server.proc.poll() is None
    assert server.get("/healthz").status_code == 200
    canary, trace_ids = make_request(1, 3, service="canary")
    r = httpx.post(server.http_url + "/v1/traces", content=canary.SerializeToString(),
                   headers={"Content-Type": "application/x-protobuf"}, timeout=30)
    assert r.status_code == 200 and not ExportTraceServiceResponse.FromString(r.content).HasField(
        "partial_success")
    grpc_canary, grpc_ids = make_request(1, 2, service="canary-grpc")
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        channel.unary_unary(EXPORT, request_serializer=None)(grpc_canary.SerializeToString(), timeout=30)
    server.wait_for_spans(trace_ids[0], 3, timeout=60)
    server.wait_for_spans(grpc_ids[0], 2, timeout=60)
    stored = server.get(f"/api/traces/{trace_ids[0]}").json()["data"][0]
    assert {s["operationName"] for s in stored["spans"]} == {"GET /api/products", "SELECT products 1",
                                                             "SELECT products 2"}

    # every span it acknowledged reached the store: none poisoned a batch
    assert server.metric("spanhouse_spans_dead_lettered_total") == 0
    assert server.get("/readyz").status_code == 200
    log = "".join(server.output)
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
    assert elapsed < 60
