"""``ottl_condition``: the supported subset evaluates like OTTL; the rest is refused at config
time (ported cases from upstream ottl_test.go and ottl_default_error_mode_test.go)."""

from __future__ import annotations

import pytest

from spanhouse.errors import ConfigError
from spanhouse.ottl import compare
from spanhouse.processors.tail_sampling.policies.base import PolicyError
from spanhouse.processors.tail_sampling.policies.ottl import build_ottl_condition
from spanhouse.processors.tail_sampling.verdict import Decision

from .traces import span, trace

S, N = Decision.Sampled, Decision.NotSampled


def policy(span_conds=(), event_conds=(), mode="propagate"):
    return build_ottl_condition("o", list(span_conds), list(event_conds), mode, "policies[0].ottl_condition")


def d(pol, tr):
    return pol.evaluate(tr).decision


# upstream TestEvaluate_OTTL
def test_span_attribute_match():
    pol = policy(['attributes["attr_k_1"] == "attr_v_1"'])
    assert d(pol, trace(span(attributes={"attr_k_1": "attr_v_1"}))) is S
    assert d(pol, trace(span(attributes={"attr_k_1": "other"}))) is N


def test_span_event_attribute_match():
    pol = policy([], ['attributes["event_attr_k_1"] == "event_attr_v_1"'])
    tr = trace(span(events=[("test event", {"event_attr_k_1": "event_attr_v_1"})]))
    assert d(pol, tr) is S
    assert d(pol, trace(span(events=[("test event", {})]))) is N


def test_not_matched():
    pol = policy(['attributes["attr_k_1"] == "attr_v_1"'], ['attributes["event_attr_k_1"] == "event_attr_v_1"'])
    assert d(pol, trace(span())) is N


def test_multiple_conditions_are_ored():
    pol = policy(['name == "a"', 'name == "b"'])
    assert d(pol, trace(span("b"))) is S
    assert d(pol, trace(span("c"))) is N


@pytest.mark.parametrize("cond, expected", [
    ('kind == SPAN_KIND_SERVER', S),
    ('kind == 2', S),
    ('kind != SPAN_KIND_SERVER', N),
    ('status.code == STATUS_CODE_ERROR', S),
    ('status.code == STATUS_CODE_OK', N),
    ('name == "GET /x" and status.code == STATUS_CODE_ERROR', S),
    ('name == "nope" or attributes["http.status_code"] >= 500', S),
    ('not (attributes["http.status_code"] < 500)', S),
    ('not attributes["http.status_code"] < 500', S),
    ('attributes["http.status_code"] > 499.5', S),            # int vs float compares numerically
    ('attributes["ratio"] <= 0.25', S),
    ('attributes["retry"] == true', S),
    ('attributes["retry"] == "true"', N),                     # bool vs string: only !=
    ('attributes["retry"] != "true"', S),
    ('attributes["missing"] == nil', S),
    ('attributes["missing"] != nil', N),
    ('attributes["missing"] > 0', N),
    ('resource.attributes["service.name"] == "checkout"', S),
    ('IsMatch(name, "^GET ")', S),
    ('IsMatch(attributes["http.status_code"], "^50")', S),    # ints are matched as text
    ('IsMatch(attributes["missing"], ".*")', N),              # nil never matches
    ('not IsMatch(name, "^POST")', S),
    ('end_time_unix_nano - start_time_unix_nano > 1000 * 1000000', S),
    ('(end_time_unix_nano - start_time_unix_nano) / 1000000 >= 2000', N),
    ('instrumentation_scope.name == "scope"', S),
    ('span.name == "GET /x"', S),                              # explicit context prefix
    ('name < "Z"', S),                                         # strings compare lexically
    ('true', S),
    ('false or (kind == 2 and name != "")', S),
    ('attributes["tags"] == attributes["tags"]', S),
    ('trace_id.string == "0102030405060708090a0b0c0d0e0f10"', S),
    ('name == "esc\\"aped"', N),
])
def test_span_conditions(cond, expected):
    tr = trace(span("GET /x", kind=2, status=2, duration_ms=1500,
                    attributes={"http.status_code": 503, "ratio": 0.25, "retry": True, "tags": [1, "a"]}),
               resources=[{"service.name": "checkout"}])
    assert d(policy([cond]), tr) is expected


def test_span_event_context_paths():
    tr = trace(span("root", kind=2, attributes={"a": 1},
                    events=[("exception", {"exception.type": "Timeout"})]),
               resources=[{"service.name": "api"}])
    assert d(policy([], ['name == "exception" and span.name == "root"']), tr) is S
    assert d(policy([], ['span.attributes["a"] == 1 and attributes["exception.type"] == "Timeout"']), tr) is S
    assert d(policy([], ['resource.attributes["service.name"] == "api"']), tr) is S
    assert d(policy([], ['span.kind == SPAN_KIND_CLIENT']), tr) is N


def test_compare_rules():
    assert compare(None, None, "==") and compare(None, None, "<=") and not compare(None, None, "<")
    assert compare(1, 1.0, "==") and compare(True, 1, "!=") and not compare(True, 1, "==")
    assert compare(False, True, "<") and not compare(True, False, "<")
    assert not compare("a", 1, "<") and compare("a", 1, "!=")


# error_mode (ottl_default_error_mode_test.go): arithmetic on a string is an evaluation error
BAD = 'attributes["s"] + 1 > 0'


def test_error_mode_propagate_fails_the_policy():
    with pytest.raises(PolicyError):
        policy([BAD]).evaluate(trace(span(attributes={"s": "x"})))


@pytest.mark.parametrize("mode", ["ignore", "silent"])
def test_error_mode_ignore_counts_the_condition_false_and_goes_on(mode):
    pol = policy([BAD, 'name == "keep"'], mode=mode)
    assert d(pol, trace(span("keep", attributes={"s": "x"}))) is S
    assert d(pol, trace(span("drop", attributes={"s": "x"}))) is N


def test_integer_division_by_zero_is_an_error():
    with pytest.raises(PolicyError):
        policy(['kind / 0 == 1']).evaluate(trace(span()))


@pytest.mark.parametrize("cond, message", [
    ('duration > 5', "path duration is not supported"),
    ('Substring(name, 0, 3) == "GET"', "function Substring() is not supported"),
    ('set(name, "x")', "editor set() is not supported"),
    ('attributes == nil', "needs a key"),
    ('name', "is not a condition"),
    ('attributes["a"][0] == 1', "nested indexing"),
    ('attributes[0] == 1', "only string keys"),
    ('name == 0x01', "byte-slice literal"),
    ('name == ["a"]', "list and map literals"),
    ('kind == SPAN_KIND_BOGUS', "unknown enum SPAN_KIND_BOGUS"),
    ('IsMatch(name, "(")', "invalid regex"),
    ('IsMatch(name, attributes["p"])', "must be a string literal"),
    ('1 < kind < 3', "chained comparison"),
    ('name == "a" and', "unexpected"),
    ('name == "a" ) ', "unexpected"),
    ('resource.dropped_attributes_count == 0', "is not supported"),
    ('', "empty condition"),
])
def test_unsupported_is_refused_at_config_time(cond, message):
    with pytest.raises(ConfigError) as err:
        policy([cond])
    assert err.value.key == "policies[0].ottl_condition.span[0]"
    assert message in str(err.value)


def test_spanevent_paths_are_checked_against_their_context():
    with pytest.raises(ConfigError) as err:
        policy(["name == \"x\""], ['status.code == 2'])
    assert err.value.key == "policies[0].ottl_condition.spanevent[0]"
