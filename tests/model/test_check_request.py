"""The receivers' quick check of an OTLP protobuf request rejects exactly the spans the decoder
rejects, and what it logs decodes to the same spans, with nothing left to reject."""

from __future__ import annotations

import random

import pytest

from bench.workload import make_request
from spanhouse.errors import InvalidInput
from spanhouse.model.limits import MAX_TIME_NS
from spanhouse.model.otlp_proto import check_request, decode_proto_bytes

BREAKERS = [
    lambda s: setattr(s, "trace_id", bytes(16)),
    lambda s: setattr(s, "trace_id", b"\x01" * 15),
    lambda s: setattr(s, "span_id", bytes(8)),
    lambda s: setattr(s, "parent_span_id", b"\x02" * 3),
    lambda s: setattr(s, "start_time_unix_nano", MAX_TIME_NS),
    lambda s: setattr(s, "end_time_unix_nano", 2**64 - 1),
    lambda s: s.events.add(name="late", time_unix_nano=2**63 + 1),
]


@pytest.mark.parametrize("seed", range(40))
def test_check_rejects_what_decode_rejects_and_logs_the_rest(seed):
    rng = random.Random(seed)
    request, _ = make_request(rng.randint(1, 6), rng.randint(1, 8), service=f"s{seed}")
    spans = request.resource_spans[0].scope_spans[0].spans
    for span in rng.sample(list(spans), rng.randint(0, len(spans))):
        rng.choice(BREAKERS)(span)
    body = request.SerializeToString()

    payload, kept, checked = check_request(body)
    decoded = decode_proto_bytes(body)
    assert checked.rejected == decoded.rejected
    assert checked.error_message == decoded.error_message
    assert kept == len(decoded.batch)
    assert (payload is body) == (decoded.rejected == 0)
    again = decode_proto_bytes(payload)
    assert again.rejected == 0
    assert again.batch.span_id == decoded.batch.span_id
    assert again.batch.attributes == decoded.batch.attributes


def test_check_refuses_what_does_not_parse():
    with pytest.raises(InvalidInput):
        check_request(b"\xff\xff\xff\x0f not protobuf")
