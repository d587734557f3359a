"""The probabilistic_sampler processor. Vectors ported from open-telemetry/
opentelemetry-collector-contrib ``processor/probabilisticsamplerprocessor``
(tracesprocessor_test.go, sampler_mode_test.go, config_test.go + testdata/*.yaml); hash_seed
decisions are also checked against an independent FNV-1a/float32 reference written here."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.model.attributes import BOOL, DOUBLE, INT, STRING
from spanhouse.model.batch import SpanBatch
from spanhouse.processors import otep235 as ot
from spanhouse.processors.hashing import fnv1a_32
from spanhouse.processors.probabilistic import (
    ProbabilisticSampler, ProbabilisticSamplerConfig, parse_config,
)
from spanhouse.processors.sampling_priority import priority_of
from spanhouse.telemetry import Telemetry

DEFAULT_HASH_SEED = 4312  # tracesprocessor_test.go's defaultHashSeed


# ------------------------------------------------------------------ helpers
def make_batch(trace_ids, trace_states=None, attrs=None, adjusted=None, policies=None):
    b = SpanBatch()
    res = b.add_resource("svc")
    b.resource_attributes.close_set()
    scope = b.add_scope("lib", "1")
    for i, tid in enumerate(trace_ids):
        b.trace_id.append(tid)
        b.span_id.append(f"{i + 1:016x}")
        b.parent_span_id.append("")
        b.trace_state.append(trace_states[i] if trace_states else "")
        b.flags.append(0)
        b.name.append(f"span{i}")
        b.kind.append(1)
        b.start_ns.append(1000 + i)
        b.end_ns.append(2000 + i)
        b.status_code.append(0)
        b.status_message.append("")
        b.dropped_attributes_count.append(0)
        b.dropped_events_count.append(0)
        b.dropped_links_count.append(0)
        b.resource_index.append(res)
        b.scope_index.append(scope)
        for key, value, code in (attrs[i] if attrs else ()):
            b.attributes.add(key, value, code)
        b.attributes.close_set()
        b.event_offsets.append(len(b.event_name))
        b.link_offsets.append(len(b.link_span_id))
    if adjusted is not None:
        b.adjusted_count = list(adjusted)
        b.sampling_policy = list(policies)
    return b


def sampler(pct, mode="", seed=0, fail_closed=False, precision=4, **kw):
    """Upstream tests build Config{} literals: FailClosed is false there unless set."""
    cfg = ProbabilisticSamplerConfig(sampling_percentage=pct, mode=mode, hash_seed=seed,
                                     fail_closed=fail_closed, sampling_precision=precision)
    return ProbabilisticSampler(cfg, **kw)


def one(s, tid, ts="", attrs=None):
    """Sample a single span: (kept, trace_state, adjusted_count, policy)."""
    out = s.sample(make_batch([tid], [ts], [attrs or []]))
    if len(out) == 0:
        return False, None, None, None
    return True, out.trace_state[0], out.adjusted_counts()[0], out.sampling_policies()[0]


def rand_tid(rng):
    return f"{rng.getrandbits(128):032x}"


# an independent reference for hash_seed mode
def ref_fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def ref_hash_keep(tid: str, seed: int, pct: float) -> bool:
    pct32 = np.float32(pct)
    if pct32 > 100:
        pct32 = np.float32(100)
    scaled = int(pct32 * np.float32(16384 / 100))
    h = ref_fnv1a_32(seed.to_bytes(4, "little") + bytes.fromhex(tid))
    return (h & 0x3FFF) < scaled


# ------------------------------------------------------------------ hashing
def test_empty_hash_function():
    # TestEmptyHashFunction: seed 0 over no bytes, and over 16 zero bytes
    assert fnv1a_32(b"\0\0\0\0") & 0x3FFF == 0x3515
    assert fnv1a_32(b"\0" * 20) & 0x3FFF == 0x2455
    assert ref_fnv1a_32(b"\0" * 20) == fnv1a_32(b"\0" * 20)


EXPECT_50PCT = [
    (653, "474a03c76d75951a4b4c537ced8f1122", True), (563, "53a518291e91307e43cd8467bb06f986", True),
    (142, "a56a02f843b9bc6ee0b13889249e90e6", True), (904, "4e40762d3ee97a1c0932e4fa584f89a8", False),
    (445, "5224507db93db513f0ea2a4b4e0578c8", True), (38, "0c8717ced36216037af657e9d7f8b35b", True),
    (561, "2a8aa76c18d08e1e8be935541f9318c7", False), (757, "9e3d0f9481dc422cb613ea550897ae71", False),
    (22, "66a66c516ac22054673e5da5e6492545", False), (172, "84a1ce7bcea3e66194e72b4aa2694e31", True),
    (552, "a811a7def34ca4b98d8e320afd115fad", False), (546, "e3a345cc8dbb6f014bfa1edad3981820", True),
    (315, "a71effb50e28d27cbdc9892f3765b8c2", False), (510, "55ee665a3fa22f8ea1b744ce15a7339d", False),
    (230, "7a5006be4d0ce7b542d59f83cd6f1c41", False), (544, "825b8fb9cfd45867794f4cd8a5a699bd", False),
    (790, "7629ecbea89398bfd9752a2f51c2c137", True), (555, "de6cdfb44d69e211f886c57120d7bda0", True),
    (147, "a8a5c3bb9205883fae17ead6675b2450", False), (238, "937e6cb3332dbe87062fa3997f48f425", False),
    (122, "5a357e150995e005847816c431ba502d", False), (963, "20cb3dcebe2cf8abe6102f4a2e548245", False),
    (141, "1b0afbd09abaaf7996cd26f8f6533795", False), (666, "3ee60b013303bcfda06be89071b90bd1", True),
    (305, "c90c7cf3471bbc3a804a8a831633705b", True), (270, "18dda74dfca45a7b0261510f385fb4de", True),
    (381, "600cf70c7bb4918e54aefd78c84f3996", True), (35, "855f493c5b5b1e2fcbc9993f8061eac8", False),
    (839, "89bc498feb21d969cf0eabf916aa621a", False), (561, "0a0af00f63e098a39883705a423b0aa8", True),
    (667, "0c38553d71f54dfc37155c22cc8bf243", False), (603, "49493809d1a49ea879e6aba37afde958", True),
    (92, "eb60d98b8f8fe22d8970f44f0e2b6bad", True), (70, "19c386ee7a9f2d56ff9ab2e6374540af", False),
    (567, "2a033c15405f1c7a311f653719ed47b7", False), (936, "62dda24e4be24f5198e4d8dd4010c811", True),
    (210, "bb134e26ee92e282e29cabdb1d00d333", True), (835, "6c77db08bbded7bdd5c99c6e2fea41d2", False),
    (864, "99f6a7e7b50845b4fb64b7c2ee49f53c", True), (775, "e908cb91224bee8fd4b5f3632f65717f", True),
    (687, "45a5ace7234d92d9983b4f3858bc0b8e", False), (761, "8c8a25d232fd4d3a37a5f70ccb82d752", False),
    (400, "54156d7434a894ef07f2a80dbf0f1138", True), (741, "67e3bfb02b0526dbb79420468d7b83dd", False),
    (871, "f6ea221283dcb42f89bfb15fa33398d2", False), (244, "b663ca45004decf8123a19fb5d7f7115", True),
    (885, "d0e299d54d6dc6469276fd4e48301d73", True), (607, "03240c2748aa67a185909a9345d84aba", False),
    (434, "b00de72ba67e6fe0ed661decac911f7e", True), (889, "20fff68a7cc715b30e4e6d69d53e0f60", False),
    (810, "6bf2bb105e594f6220803da5253551af", False), (494, "54fbb1d3ebe3883b0a01bbf2c9a2bf3e", True),
    (413, "a8a2ecba129d8537e360cf54de9d7460", False), (215, "2df034262b775136f2a313fdcc09738a", True),
    (557, "e3c1b943d9c1199d1108a69aa32a4587", False), (662, "1975d5f5640bac1064d53c2c21e02aae", False),
    (482, "6e4f16727dec3c09539b5f50d35d2c13", False), (223, "63a088446ef0ed60a9cace4698ede026", False),
    (261, "9b662cd6f67a4e3d1f904b4c5d4275b1", True), (112, "a2db788dbadc402b8c466b93b8749a6c", True),
    (6, "d6a68b47c66d1f94eed46b8ddc72faf4", False), (575, "e8a83c42f4515568d0942ec4472c9d2c", True),
    (568, "030e14c2954e3f08134b355f33414ba9", False), (965, "022315846d42a38322d6fd26250444b3", True),
    (512, "b3ba1ed226288dede87ac1f2ba88de2b", True), (108, "c57d0dcf43d5b154ef04c7953c94cd12", True),
    (248, "a835fe521d9cbfcfb724b603f87c7403", False), (46, "eda867e6df95e74abefac336c7f4cd1a", False),
    (879, "09e9e67a261ea3e00d817105b57ffd4e", False), (853, "6a780cf250cb3d2b699394042e6723a8", False),
    (639, "4c99d7f14c66b3123caf57980f8e2a31", False), (111, "79dc8d7a54bc3e8ef513b9cd8d830564", True),
    (135, "9c2e5d9d713e5219b0f9e5b884835e69", False), (209, "3ccb300bf7b983229979e0c46db267b0", True),
    (629, "0bb7b9da64da250c3934bb39130dc990", True), (910, "b25713ca4cea377871eaa334bc2dd382", True),
    (667, "69afc041003851cec60f41db97e005a9", True), (449, "c844b5428abe0cf82eaf02566781870a", True),
    (16, "2533c732bed8c1ba4721c25a1205f06c", False), (936, "ecc770b4be885dfc8d6fa135bc2c93bb", True),
    (595, "63b67cbb42de52e9916241ad94fcd5e8", True), (83, "fc4998bc53ccd42a5b8e7c86a93d4c88", False),
    (878, "59f0677dffe1a0a8c5895cb263e3a019", False), (206, "eb897eff9e7c7363e063b340a0c6b315", True),
    (710, "89e4c7e6af305be6cd139abcae953db5", True), (650, "97563d45ee254231e1ace05fb746bcce", False),
    (233, "3f580864f295ff13f179c3c907032ea9", True), (836, "e9b78e03706265a6936bff2a41530104", False),
    (568, "c458603ee921fa8711085c15b871b245", False), (816, "4bbfffab5b5975c1b007ebc518bf416d", False),
    (397, "61a1a65746287d78a431c6848ed1ffb3", False), (847, "53eee02f4672a72e93369b2c2ecf36eb", False),
    (354, "6ea23c3068a2c304488c8e67a072db97", False), (961, "eed247645e510ded87bd9afcf1d3e237", False),
    (799, "092af4ff2fdea5bb1c708b2169bdfd95", False), (99, "497f02db51c898ac441aae18a8b7ced9", False),
    (773, "988481445600bb91bbe23e3103034bcd", True), (928, "f1813835ac0f456721ef3aac39c0269a", True),
    (235, "1999920085682c007eb3a6984d2a7f05", True), (460, "60c3b9a2dde734d71ba5cca7eb164bce", True),
]


def test_hashing_function_upstream_vectors():
    """TestHashingFunction: 100 legacy hash_seed decisions at 50% (mode unset, seed != 0)."""
    assert len(EXPECT_50PCT) == 100
    for seed, tid, want in EXPECT_50PCT:
        s = sampler(50, seed=seed)
        assert s.mode == "hash_seed"
        assert one(s, tid)[0] is want, (seed, tid)
        assert ref_hash_keep(tid, seed, 50) is want  # the reference agrees with upstream too


BOUNDARY_PCTS = [100 * 5 / 16384, math.nextafter(100 * 1639 / 16384, 0), 100 * 8191 / 16384]


@pytest.mark.parametrize("seed", [0, 1, 22, DEFAULT_HASH_SEED, 0xFFFFFFFF])
def test_hash_seed_matches_independent_reference(seed):
    rng = random.Random(seed + 7)
    tids = [rand_tid(rng) for _ in range(10_000)]
    for pct in (0.03, 1, 10, 15.3, 100 / 3, 50, 99.99, 100, 150, *BOUNDARY_PCTS):
        s = sampler(pct, mode="hash_seed", seed=seed)
        out = s.sample(make_batch(tids))
        want = {t for t in tids if ref_hash_keep(t, seed, pct)}
        assert set(out.trace_id) == want, (seed, pct)
        assert len(out) == len(want)


@pytest.mark.parametrize("k", [1, 5, 163, 1639, 8191, 12345, 16383])
def test_float32_rounding_at_bucket_boundaries(k):
    """At pct = 100*k/16384 the exact product pct * 16384/100 is k. Upstream's float32 multiply
    lands on k; float64 arithmetic with the float32 constant would truncate to k-1, and a double
    just below the boundary still reaches k because the percentage is a float32."""
    pct = 100 * k / 16384
    assert int(pct * float(np.float32(163.84))) == k - 1  # the trap being avoided
    for p in (pct, math.nextafter(pct, 0)):
        assert sampler(p, mode="hash_seed")._threshold == (16384 - k) << 42
        assert ot.threshold_probability(sampler(p, mode="hash_seed")._threshold) == k / 16384


def test_hash_seed_rounding_down_is_never():
    # TestHashSeedRoundingDown: 3/4 of one bucket truncates to zero buckets
    pct = 3 * 2.0**-16 * 100
    assert round((pct / 100) * 0x4000) == 1
    s = sampler(pct, mode="hash_seed", seed=DEFAULT_HASH_SEED)
    assert s.never
    rng = random.Random(3)
    assert len(s.sample(make_batch([rand_tid(rng) for _ in range(2000)]))) == 0


@pytest.mark.parametrize("pct, tvout", [
    (100, "0"), (75, "4"), (50, "8"), (25, "c"), (10, "e668"), (100.0 / 3, "aaac"),
])
def test_hash_seed_trace_state(pct, tvout):
    """Test_tracesamplerprocessor_HashSeedTraceState: kept spans carry rv and a 14-bit th."""
    s = sampler(pct, mode="hash_seed", seed=DEFAULT_HASH_SEED)
    rng = random.Random(int(pct * 1000))
    found = 0
    while found < 10:
        tid = rand_tid(rng)
        kept, ts, adj, _ = one(s, tid)
        if not kept:
            assert not ref_hash_keep(tid, DEFAULT_HASH_SEED, pct)
            continue
        found += 1
        w3c, err = ot.parse_w3c_tracestate(ts)
        assert err is None
        assert w3c.otel.tvalue == tvout
        rnd, has_r = w3c.otel.rvalue_randomness()
        assert has_r and ot.should_sample(w3c.otel.threshold, rnd)
        # R's top 14 bits are 16383 - (hash & 0x3fff) (randomnessFromBytes)
        h = ref_fnv1a_32(DEFAULT_HASH_SEED.to_bytes(4, "little") + bytes.fromhex(tid))
        assert rnd >> 42 == 0x3FFF - (h & 0x3FFF)
        assert ts == f"ot=rv:{w3c.otel.rvalue};th:{tvout}"
        assert adj == pytest.approx(1 / ot.threshold_probability(w3c.otel.threshold))


def test_hash_seed_keeps_other_entries_and_refuses_existing_values():
    tid = next(t for _, t, keep in EXPECT_50PCT if keep)
    seed = next(sd for sd, t, keep in EXPECT_50PCT if keep)
    s = sampler(50, seed=seed)
    kept, ts, _, _ = one(s, tid, "zz=1,ot=pn:abc")
    assert kept and ts.startswith("ot=rv:") and ts.endswith(";th:8;pn:abc,zz=1")
    # rv or th already there: error; fail open keeps the span untouched
    for arriving in ("ot=th:8", "ot=rv:11111111111111"):
        assert one(s, tid, arriving)[:2] == (True, arriving)
        assert one(sampler(50, seed=seed, fail_closed=True), tid, arriving)[0] is False


# ------------------------------------------------------------------ missing randomness
@pytest.mark.parametrize("pct, fail_closed, sampled", [
    (0, True, False), (62, True, False), (100, True, False),
    (0, False, False), (62, False, True), (100, False, True),
])
def test_missing_randomness(pct, fail_closed, sampled):
    """Test_tracessamplerprocessor_MissingRandomness (all-zero trace id)."""
    s = sampler(pct, seed=DEFAULT_HASH_SEED, fail_closed=fail_closed)
    kept, ts, _, _ = one(s, "0" * 32)
    assert kept is sampled
    if kept:
        assert ts == "ot=rv:ffffffffffffff;th:0"


# ------------------------------------------------------------------ sampling.priority
@pytest.mark.parametrize("mode", ["hash_seed", "equalizing", "proportional"])
@pytest.mark.parametrize("pct, key, value, code, sampled", [
    (0, "sampling.priority", "2", INT, True),
    (0, "sampling.priority", "1", DOUBLE, True),
    (0, "sampling.priority", "1", STRING, True),
    (100, "sampling.priority", "0", INT, False),
    (100, "sampling.priority", "0", DOUBLE, False),
    (100, "sampling.priority", "0", STRING, False),
    (0, "no.sampling.priority", "2", INT, False),
    (100, "no.sampling.priority", "2", INT, True),
])
def test_span_sampling_priority(mode, pct, key, value, code, sampled):
    """Test_tracesamplerprocessor_SpanSamplingPriority, every mode."""
    s = sampler(pct, mode=mode, seed=DEFAULT_HASH_SEED)
    tid = "01" + "0" * 30  # all-zero W3C randomness: kept at 100% only
    kept, ts, adj, _ = one(s, tid, "", [(key, value, code)])
    assert kept is sampled
    if kept:
        assert ts.endswith("th:0")
        assert adj == 1.0


@pytest.mark.parametrize("value, code, want", [
    ("true", BOOL, 0),
    ("0", INT, 2), ("1", INT, 1), ("-1", INT, 0),
    ("0", DOUBLE, 2), ("1", DOUBLE, 1), ("-1", DOUBLE, 0),
    ("0.0", STRING, 2), ("0.5", STRING, 1), ("-0.5", STRING, 0), ("NaN", STRING, 0),
    # Go ParseFloat specifics: errors defer, hex floats and digit underscores parse
    ("1e400", STRING, 0), (" 1", STRING, 0), ("yes", STRING, 0), ("0x1p-2", STRING, 1),
    ("1_0", STRING, 1), ("Inf", STRING, 1),
])
def test_parse_span_sampling_priority(value, code, want):
    """Test_parseSpanSamplingPriority (0 defer, 1 must sample, 2 do not sample)."""
    assert priority_of(value, code) == want


def test_priority_found_among_other_attributes():
    s = sampler(0, mode="proportional")
    b = make_batch(["ab" * 16, "cd" * 16, "ef" * 16], attrs=[
        [("a", "1", STRING)],
        [("x", "y", STRING), ("sampling.priority", "3", INT), ("sampling.priority", "0", INT)],
        [],
    ])
    out = s.sample(b)
    assert out.trace_id == ["cd" * 16]
    assert out.attributes.set_items(0)[0] == ("x", "y", STRING)


# ------------------------------------------------------------------ consistent modes
DEFAULT_TID = "fefefefefefefefefe80000000000000"
IMPROBABLE_TID = "111111111111111111ffffffffffffff"


def _cases():
    """Test_tracesamplerprocessor_TraceState: (name, tid, cfg, ts, priority, inconsistent, sf)."""
    both = lambda *r: (lambda mode: r)  # noqa: E731
    return [
        ("100 percent", None, dict(pct=100), "", None, False, both(True, 1, "ot=th:0")),
        ("50 percent sampled", None, dict(pct=50), "", None, False, both(True, 2, "ot=th:8")),
        ("25 percent sampled", "ddddddddddddddddddc0000000000000", dict(pct=25), "", None, False,
         both(True, 4, "ot=th:c")),
        ("25 percent unsampled", "ddddddddddddddddddb0000000000000", dict(pct=25), "", None, False,
         both(False, 0, "")),
        ("1 percent sampled", None, dict(pct=1, precision=0), "ot=rv:FD70A3D70A3D71", None, False,
         both(True, 100, "ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71")),
        ("1 percent sampled with rvalue and precision 4", None, dict(pct=1, precision=4),
         "ot=rv:FD70A3D70A3D71", None, False, both(True, 100, "ot=rv:FD70A3D70A3D71;th:fd70a")),
        ("1 percent sampled with rvalue and precision 3", None, dict(pct=1, precision=3),
         "ot=rv:FD70A3D70A3D71", None, False, both(False, 0, "")),
        ("1 percent not sampled with rvalue", None, dict(pct=1, precision=0),
         "ot=rv:FD70A3D70A3D70", None, False, both(False, 0, "")),
        ("49 percent not sampled with default tid", None, dict(pct=49, precision=0), "", None,
         False, both(False, 0, "")),
        ("1 percent sampled with rvalue", None, dict(pct=1, precision=0), "ot=rv:fd70B000000000",
         None, False, both(True, 100, "ot=rv:fd70B000000000;th:fd70a3d70a3d71")),
        ("1 percent sampled with tid", "a0a0a0a0a0a0a0a0a0fe000000000000",
         dict(pct=1, precision=4), "", None, False, both(True, 100, "ot=th:fd70a")),
        ("sampled by priority", None, dict(pct=1, precision=0), "", ("2", INT), False,
         both(True, 1, "ot=th:0")),
        ("not sampled by priority", None, dict(pct=99, precision=0), "", ("0", INT), False,
         both(False, 0, "")),
        ("incoming 50 percent with rvalue", None, dict(pct=50, precision=0),
         "ot=rv:90000000000000;th:80000000000000", None, False,
         lambda m: (True, 2, "ot=rv:90000000000000;th:8") if m == "equalizing" else (False, 0, "")),
        ("incoming 50 percent at 25 percent not sampled", None, dict(pct=25, precision=0),
         "ot=th:8", None, False, both(False, 0, "")),
        ("incoming 50 percent at 25 percent sampled", "f" * 32, dict(pct=25, precision=0),
         "ot=th:8", None, False,
         lambda m: (True, 4, "ot=th:c") if m == "equalizing" else (True, 8, "ot=th:e")),
        ("equalizing vs proportional", None, dict(pct=50, precision=0),
         "ot=rv:c0000000000000;th:8", None, False,
         lambda m: (True, 2, "ot=rv:c0000000000000;th:8") if m == "equalizing"
         else (True, 4, "ot=rv:c0000000000000;th:c")),
        ("inconsistent arriving threshold", None, dict(pct=100, precision=0),
         "ot=rv:40000000000000;th:8", None, True, both(True, 1, "ot=rv:40000000000000;th:0")),
        ("inconsistent arriving threshold not sampled", None,
         dict(pct=1, precision=0, fail_closed=True), "ot=rv:40000000000000;th:8", None, True,
         both(False, 0, "")),
        ("40 percent precision 3 with rvalue", None, dict(pct=40, precision=3),
         "ot=rv:a0000000000000", None, False,
         both(True, 1 / 0.4, "ot=rv:a0000000000000;th:99a")),
        ("arriving 50 percent sampled at 40 percent precision 6 with tid",
         "a0a0a0a0a0a0a0a0a0d0000000000000", dict(pct=40, precision=6), "ot=th:8", None, False,
         lambda m: (True, 5, "ot=th:cccccd") if m == "proportional" else (True, 2.5, "ot=th:99999a")),
        ("arriving 50 percent sampled at 40 percent partly sampled",
         "a0a0a0a0a0a0a0a0a0b0000000000000", dict(pct=40, precision=3), "ot=th:8", None, False,
         lambda m: (False, 0, "") if m == "proportional" else (True, 2.5, "ot=th:99a")),
        ("arriving 50 percent sampled at 40 percent not sampled",
         "a0a0a0a0a0a0a0a0a080000000000000", dict(pct=40, precision=3), "ot=th:8", None, False,
         both(False, 0, "")),
        ("200 percent equals 100 percent", None, dict(pct=200, precision=0), "", None, False,
         both(True, 1, "ot=th:0")),
        ("tiny probability rounding", IMPROBABLE_TID, dict(pct=100 * 2.0**-14, precision=0),
         "ot=th:fffc", None, False,
         lambda m: (True, 1 << 14, "ot=th:fffc") if m == "equalizing"
         else (True, 1 << 28, "ot=th:fffffff")),
        ("almost 100pct sampling", IMPROBABLE_TID, dict(pct=(1 - 8e-7) * 100, precision=10), "",
         None, False, both(True, 1 / (1 - 8e-7), "ot=th:00000cccccccd")),
        ("probability underflow", IMPROBABLE_TID, dict(pct=2.0**-4, precision=0),
         "ot=th:fffffffffffff8", None, False,
         lambda m: (True, 1 << 53, "ot=th:fffffffffffff8") if m == "equalizing"
         else (False, 0, "")),
    ]


@pytest.mark.parametrize("mode", ["equalizing", "proportional"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_trace_state(mode, case):
    name, tid, cfg, ts, prio, inconsistent, sf = case
    cfg = dict(cfg)
    s = sampler(cfg.pop("pct"), mode=mode, seed=DEFAULT_HASH_SEED, **cfg)
    attrs = [("sampling.priority", prio[0], prio[1])] if prio else []
    kept, out_ts, adj, policy = one(s, tid or DEFAULT_TID, ts, attrs)
    want_sampled, want_count, want_ts = sf(mode)
    assert kept is want_sampled
    if not kept:
        return
    assert out_ts == want_ts
    w3c, err = ot.parse_w3c_tracestate(out_ts)
    assert err is None
    eps = 1e-9 if cfg.get("precision") == 0 else 1e-3
    assert w3c.otel.adjusted_count() == pytest.approx(want_count, rel=eps)
    # the adjusted_count column is relative to what arrived: the arriving th (if it survived
    # the consistency check) is divided out
    arriving, _ = ot.parse_w3c_tracestate(ts)
    incoming = 1.0 if inconsistent or not arriving.otel.tvalue else arriving.otel.adjusted_count()
    assert adj == pytest.approx(want_count / incoming, rel=eps)
    assert policy == "probabilistic_sampler"


@pytest.mark.parametrize("mode", ["equalizing", "proportional"])
@pytest.mark.parametrize("tid, ts", [
    ("0" * 32, ""),                                            # missing randomness
    (DEFAULT_TID, "ot=rv:abababababababab"),                   # 16 digits is too many
    (DEFAULT_TID, "ot=th:abababababababab"),
    (DEFAULT_TID, "ot=th:-1"),                                 # t-value syntax
    ("ffffffffffffffffff70000000000000", "ot=th:8"),          # inconsistent with trace id
    (DEFAULT_TID, "ot=th:8;rv:70000000000000"),               # inconsistent with rv
])
def test_trace_state_errors_fail_closed(mode, tid, ts):
    """Test_tracesamplerprocessor_TraceStateErrors: dropped with fail_closed, kept without."""
    closed = sampler(100, mode=mode, fail_closed=True, telemetry=Telemetry(), name="ps")
    assert one(closed, tid, ts)[0] is False
    assert closed.telemetry.registry.get_sample_value(
        "spanhouse_spans_dropped_total", {"processor": "ps", "reason": "sampling_error"}) == 1
    kept, out_ts, adj, _ = one(sampler(100, mode=mode, fail_closed=False), tid, ts)
    assert kept and adj == 1.0


def test_fail_open_leaves_unparsable_trace_state_alone():
    ts = "ot=th:abababababababab,zz=1"
    for mode in ("equalizing", "proportional", "hash_seed"):
        kept, out_ts, _, _ = one(sampler(10, mode=mode), DEFAULT_TID, ts)
        assert (kept, out_ts) == (True, ts)


def test_zero_percent_priority_rewrites_partial_trace_state():
    # neverSampler keeps the carrier even when the trace state has an error, so a span kept by
    # priority gets the partially parsed state back (the bad rv dropped), with th:0
    s = sampler(0, mode="proportional", fail_closed=True)
    kept, ts, _, policy = one(s, DEFAULT_TID, "ot=rv:abababababababab;pn:1,zz=v",
                              [("sampling.priority", "1", INT)])
    assert (kept, ts) == (True, "ot=th:0;pn:1,zz=v")
    # and with fail_closed=false, the error itself keeps the span
    kept, ts, _, _ = one(sampler(0, mode="proportional"), DEFAULT_TID, "ot=th:-1")
    assert (kept, ts) == (True, "ot=th:0")


def test_priority_cannot_lower_an_arriving_threshold():
    s = sampler(1, mode="equalizing", precision=0)
    kept, ts, adj, _ = one(s, "f" * 32, " ot=th:8 , zz=1", [("sampling.priority", "1", INT)])
    assert (kept, ts, adj) == (True, "ot=th:8,zz=1", 1.0)


# ------------------------------------------------------------------ statistics
def _binomial_ok(k, n, p, z=5.0):
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    return abs(k - mean) <= z * sd


@pytest.mark.parametrize("mode", ["proportional", "equalizing", "hash_seed"])
@pytest.mark.parametrize("pct", [1, 10, 25, 62.5])
def test_kept_fraction_is_binomial(mode, pct):
    rng = random.Random(int(pct * 10) + len(mode))
    n = 20_000
    tids = [rand_tid(rng) for _ in range(n)]
    s = sampler(pct, mode=mode)
    out = s.sample(make_batch(tids))
    if mode == "hash_seed":  # 14-bit buckets, float32 product truncated
        p, rel = int(np.float32(pct) * np.float32(163.84)) / 16384, 1e-12
    else:  # th rounded to 4 significant hex digits
        p, rel = pct / 100, 1e-3
    assert _binomial_ok(len(out), n, p), (len(out), n * p)
    # every kept span carries the same th, with that probability
    (th,) = {ot.parse_w3c_tracestate(t)[0].otel.threshold for t in out.trace_state}
    assert ot.threshold_probability(th) == pytest.approx(p, rel=rel)


def test_proportional_is_consistent_across_rates():
    """Consistent sampling: what 10% keeps is a subset of what 50% keeps."""
    rng = random.Random(11)
    tids = [rand_tid(rng) for _ in range(5000)]
    low = set(sampler(10, mode="proportional").sample(make_batch(tids)).trace_id)
    high = set(sampler(50, mode="proportional").sample(make_batch(tids)).trace_id)
    assert low and low < high
    # and it equals the W3C rule on the trace id's last 7 bytes
    th10 = ot.probability_to_threshold(0.1, 4)
    assert low == {t for t in tids if int(t[-14:], 16) >= th10}


# ------------------------------------------------------------------ batches
def test_batch_decides_per_trace_and_sets_columns():
    rng = random.Random(5)
    tids = [rand_tid(rng) for _ in range(300)]
    spans = [t for t in tids for _ in range(3)]
    adjusted = [2.0] * len(spans)
    policies = ["tail" if i % 2 else "" for i in range(len(spans))]
    b = make_batch(spans, adjusted=adjusted, policies=policies)
    s = sampler(50, mode="proportional", name="probabilistic_sampler/x")
    out = s.sample(b)
    kept = set(out.trace_id)
    assert {t for t in tids if int(t[-14:], 16) >= 0x80000000000000} == kept
    assert all(out.trace_id.count(t) == 3 for t in kept)
    assert out.adjusted_count == [4.0] * len(out)
    rows = [i for i, t in enumerate(spans) if t in kept]
    assert out.sampling_policy == [policies[i] or "probabilistic_sampler/x" for i in rows]
    assert out.span_id == [b.span_id[i] for i in rows]
    assert set(out.trace_state) == {"ot=th:8"}
    assert b.trace_state == [""] * len(spans)  # the input batch is not modified


def test_same_batch_returned_when_nothing_changes():
    # hash_seed with an arriving th: error, fail open, trace_state untouched, factor 1
    b = make_batch(["ab" * 16, "cd" * 16], ["ot=th:8", "ot=th:8"], adjusted=[1.0, 3.0],
                   policies=["p", "q"])
    assert sampler(50, mode="hash_seed").sample(b) is b
    # ...but not when a policy is empty
    b2 = make_batch(["ab" * 16], ["ot=th:8"])
    out = sampler(50, mode="hash_seed").sample(b2)
    assert out is not b2 and out.sampling_policy == ["probabilistic_sampler"]
    assert len(sampler(50).sample(SpanBatch())) == 0


def test_telemetry_counts():
    t = Telemetry()
    s = sampler(50, mode="proportional", telemetry=t, name="ps")
    tids = ["ab" * 8 + "00" * 7 + "ab", "ab" * 8 + "ff" * 8, "cd" * 16]
    b = make_batch(tids, attrs=[[], [], [("sampling.priority", "0", INT)]])
    out = s.sample(b)
    assert out.trace_id == [tids[1]]
    get = t.registry.get_sample_value
    assert get("spanhouse_probabilistic_sampler_decisions_total",
               {"processor": "ps", "policy": "trace_id_w3c", "sampled": "true"}) == 1
    assert get("spanhouse_probabilistic_sampler_decisions_total",
               {"processor": "ps", "policy": "trace_id_w3c", "sampled": "false"}) == 1
    assert get("spanhouse_probabilistic_sampler_decisions_total",
               {"processor": "ps", "policy": "sampling_priority", "sampled": "false"}) == 1
    assert get("spanhouse_spans_dropped_total", {"processor": "ps", "reason": "not_sampled"}) == 1
    assert get("spanhouse_spans_dropped_total",
               {"processor": "ps", "reason": "sampling_priority"}) == 1


# ------------------------------------------------------------------ config
def parse(data, key="processors.probabilistic_sampler"):
    return parse_config(Section(data, key))


def test_config_defaults_and_mode_choice():
    cfg = parse(None)
    assert cfg == ProbabilisticSamplerConfig()
    assert (cfg.fail_closed, cfg.sampling_precision, cfg.attribute_source, cfg.mode) == \
        (True, 4, "traceID", "")
    assert ProbabilisticSampler(cfg).mode == "hash_seed"  # upstream's default mode
    assert ProbabilisticSampler(parse({"sampling_percentage": 15.3, "hash_seed": 22})).mode == \
        "hash_seed"
    assert ProbabilisticSampler(parse({"mode": "proportional"})).mode == "proportional"
    assert parse({"mode": ""}).mode == ""


def test_config_upstream_testdata():
    cfg = parse({"sampling_percentage": 15.3, "hash_seed": 22, "attribute_source": "record",
                 "from_attribute": "foo", "sampling_priority": "bar"})
    assert (cfg.sampling_percentage, cfg.hash_seed, cfg.attribute_source, cfg.from_attribute,
            cfg.sampling_priority) == (15.3, 22, "record", "foo", "bar")


@pytest.mark.parametrize("data, key, contains", [
    ({"sampling_percentage": -15.3}, "sampling_percentage", "sampling rate is negative"),
    ({"sampling_percentage": 0.000000000000001}, "sampling_percentage",
     "sampling rate is too small"),
    ({"sampling_percentage": float("inf")}, "sampling_percentage", "sampling rate is invalid"),
    ({"sampling_percentage": 1e39}, "sampling_percentage", "sampling rate is invalid"),  # > float32
    ({"sampling_percentage": 50, "sampling_precision": 15}, "sampling_precision",
     "sampling precision is too great"),
    ({"sampling_percentage": 15.3, "sampling_precision": 0}, "sampling_precision",
     "invalid sampling precision"),
    ({"sampling_precision": -1}, "sampling_precision", "1 to 14"),
    ({"mode": "dunno"}, "mode", "is not one of"),
    ({"attribute_source": "span"}, "attribute_source", "is not one of"),
    ({"hash_seed": -1}, "hash_seed", "below the minimum"),
    ({"hash_seed": 1 << 32}, "hash_seed", "above the maximum"),
    ({"sampling_percentag": 10}, "sampling_percentag", 'did you mean "sampling_percentage"'),
    ({"fail_closed": "yes"}, "fail_closed", "true or false"),
])
def test_config_invalid(data, key, contains):
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert info.value.key == f"processors.probabilistic_sampler.{key}"
    assert contains in str(info.value)


def test_config_smallest_valid_percentage():
    tiny = 100 * 2.0**-55
    assert parse({"sampling_percentage": tiny}).sampling_percentage == tiny
