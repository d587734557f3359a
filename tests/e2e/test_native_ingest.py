"""Large chunks go to the store as protobuf bytes that ClickHouse parses itself, and what is
stored is what the Python path stores."""

from __future__ import annotations

import threading
import time

import grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from bench.workload import make_request
from tests.conftest import store_query

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def nested_attribute_request():
    """A request only the Python path can take (an array inside an array)."""
    request, _ = make_request(5, 4, service="nested")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    inner = AnyValue()
    inner.array_value.values.add().int_value = 7
    value = AnyValue()
    value.array_value.values.add().CopyFrom(inner)
    span.attributes.append(KeyValue(key="matrix", value=value))
    return request


def test_big_chunks_take_the_native_insert_and_store_every_span_once(server_factory, tmp_path):
    data_dir = tmp_path / "native-data"
    server = server_factory(data_dir=data_dir)
    requests = [make_request(50, 20, service=f"native-{i % 4}")[0] for i in range(39)]
    requests.append(nested_attribute_request())
    bodies = [r.SerializeToString() for r in requests]
    sent = sum(len(ss.spans) for r in requests for rs in r.resource_spans for ss in rs.scope_spans)

    def send(part):
        with grpc.insecure_channel(server.grpc_endpoint) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None,
                                         response_deserializer=None)
            for body in part:
                export(body, timeout=30)

    threads = [threading.Thread(target=send, args=(bodies[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    deadline = time.monotonic() + 60
    while server.metric("spanhouse_spans_stored_total") < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.metric("spanhouse_spans_stored_total") == sent
    assert server.metric("spanhouse_wal_chunks_total", form="native") >= 1
    assert server.stop() == 0

    [[rows, distinct, matrix]] = store_query(data_dir, (
        "SELECT count(), uniqExact(SpanId), countIf(SpanAttributes['matrix'] = '[[7]]') "
        "FROM default.otel_traces"))
    assert (rows, distinct, matrix) == (sent, sent, 1)
    [[services]] = store_query(data_dir, "SELECT groupUniqArray(ServiceName) FROM default.otel_traces")
    assert sorted(services) == ["native-0", "native-1", "native-2", "native-3", "nested"]
