"""Building policies from the collector's config layout, and its config errors."""

from __future__ import annotations

import pytest
import yaml

from spanhouse.config.section import Section
from spanhouse.errors import ConfigError
from spanhouse.model.enums import StatusCode
from spanhouse.processors.tail_sampling.decision import evaluate_policies
from spanhouse.processors.tail_sampling.policies import (
    And, Composite, Drop, Latency, Not, OTTLCondition, Probabilistic, StringAttribute,
)
from spanhouse.processors.tail_sampling.registry import build_policies, build_policy
from spanhouse.processors.tail_sampling.verdict import Decision

from .traces import FakeClock, span, trace

KEY = "processors.tail_sampling.policies"

# Every policy type, as in the collector's README / testdata/tail_sampling_config.yaml
CONFIG = """
- {name: test-policy-1, type: always_sample}
- {name: test-policy-2, type: latency, latency: {threshold_ms: 5000}}
- {name: test-policy-3, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
- {name: test-policy-4, type: probabilistic, probabilistic: {hash_salt: custom-salt, sampling_percentage: 0.1}}
- {name: test-policy-5, type: status_code, status_code: {status_codes: [ERROR, UNSET]}}
- {name: test-policy-6, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
- {name: test-policy-7, type: string_attribute, string_attribute: {key: key2, values: [value1, val*], enabled_regex_matching: true, cache_max_size: 10}}
- {name: test-policy-8, type: rate_limiting, rate_limiting: {spans_per_second: 35}}
- {name: test-policy-9, type: string_attribute, string_attribute: {key: http.url, values: [\\/health, \\/metrics], enabled_regex_matching: true, invert_match: true}}
- {name: test-policy-10, type: span_count, span_count: {min_spans: 2, max_spans: 20}}
- {name: test-policy-11, type: trace_state, trace_state: {key: key3, values: [value1, value2]}}
- {name: test-policy-12, type: boolean_attribute, boolean_attribute: {key: key4, value: true}}
- name: test-policy-13
  type: ottl_condition
  ottl_condition:
    error_mode: ignore
    span: ['attributes["test_attr_key_1"] == "test_attr_val_1"', 'attributes["test_attr_key_2"] != "test_attr_val_1"']
    spanevent: ['name != "test_span_event_name"', 'attributes["test_event_attr_key_2"] != "test_event_attr_val_1"']
- {name: test-policy-14, type: bytes_limiting, bytes_limiting: {bytes_per_second: 1024, burst_capacity: 2048}}
- {name: test-policy-15, type: trace_flags}
- name: and-policy-1
  type: and
  and:
    and_sub_policy:
      - {name: test-and-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
      - {name: test-and-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
- name: composite-policy-1
  type: composite
  composite:
    max_total_spans_per_second: 1000
    policy_order: [test-composite-policy-1, test-composite-policy-2, test-composite-policy-3]
    composite_sub_policy:
      - {name: test-composite-policy-1, type: numeric_attribute, numeric_attribute: {key: key1, min_value: 50, max_value: 100}}
      - {name: test-composite-policy-2, type: string_attribute, string_attribute: {key: key2, values: [value1, value2]}}
      - {name: test-composite-policy-3, type: always_sample}
    rate_allocation:
      - {policy: test-composite-policy-1, percent: 50}
      - {policy: test-composite-policy-2, percent: 25}
- name: drop-policy-1
  type: drop
  drop:
    drop_sub_policy:
      - {name: test-drop-policy-1, type: string_attribute, string_attribute: {key: url.path, values: [\\/health]}}
- name: not-policy-1
  type: not
  not:
    not_sub_policy: {name: n, type: status_code, status_code: {status_codes: [OK]}}
"""


def sections(text):
    return Section({"policies": yaml.safe_load(text)}, "processors.tail_sampling").sections("policies")


def build(text, clock=None):
    return build_policies(sections(text), clock or FakeClock())


def error(text) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        build(text)
    return err.value


def test_every_type_builds_and_drop_policies_come_first():
    policies = build(CONFIG)
    assert [p.name for p in policies][:2] == ["drop-policy-1", "test-policy-1"]
    assert len(policies) == 19
    by_name = {p.name: p for p in policies}
    assert isinstance(by_name["test-policy-2"], Latency)
    assert isinstance(by_name["test-policy-4"], Probabilistic) and by_name["test-policy-4"].hash_salt == "custom-salt"
    assert isinstance(by_name["test-policy-13"], OTTLCondition) and by_name["test-policy-13"].error_mode == "ignore"
    assert isinstance(by_name["and-policy-1"], And) and len(by_name["and-policy-1"].subpolicies) == 2
    assert isinstance(by_name["drop-policy-1"], Drop)
    assert isinstance(by_name["not-policy-1"], Not)
    composite = by_name["composite-policy-1"]
    assert isinstance(composite, Composite)
    assert [s.allocated for s in composite.subs] == [500, 250, 0]


def test_built_policies_decide_end_to_end():
    policies = build("""
- {name: no-health, type: drop, drop: {drop_sub_policy: [{name: h, type: string_attribute, string_attribute: {key: url.path, values: [/health]}}]}}
- {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
- {name: sample, type: probabilistic, probabilistic: {sampling_percentage: 0}}
""")
    error_trace = trace(span(status=StatusCode.ERROR))
    health_error = trace(span(status=StatusCode.ERROR, attributes={"url.path": "/health"}))
    outcome = evaluate_policies(policies, error_trace, False)
    assert outcome.sampled and outcome.policy == "errors" and outcome.probability == 1.0
    outcome = evaluate_policies(policies, health_error, False)
    assert not outcome.sampled and outcome.decisions == {"no-health": Decision.Dropped}


def test_string_attribute_regex_and_invert_built():
    (policy,) = build("- {name: a, type: string_attribute, string_attribute: "
                      "{key: http.url, values: ['\\/health$'], enabled_regex_matching: true, invert_match: true}}")
    assert isinstance(policy, StringAttribute)
    assert policy.evaluate(trace(span(attributes={"http.url": "/api/health"}))).decision is Decision.InvertNotSampled
    assert policy.evaluate(trace(span(attributes={"http.url": "/api/users"}))).decision is Decision.InvertSampled


@pytest.mark.parametrize("text, key, fragment", [
    # typo in a field name -> key + suggestion
    ("- {name: a, type: latency, latency: {treshold_ms: 5}}",
     f"{KEY}[0].latency.treshold_ms", 'did you mean "threshold_ms"'),
    ("- {name: a, type: latency, latancy: {threshold_ms: 5}}",
     f"{KEY}[0].latancy", 'did you mean "latency"'),
    ("- {name: a, type: string_attribute, string_attribute: {key: k, value: [x]}}",
     f"{KEY}[0].string_attribute.value", 'did you mean "values"'),
    # unknown type -> did you mean, and the list of types
    ("- {name: a, type: string_atribute}", f"{KEY}[0].type", 'did you mean "string_attribute"'),
    ("- {name: a, type: nope}", f"{KEY}[0].type", "always_sample, latency"),
    # type not allowed at that level (upstream: unknown sampling policy type)
    ("- {name: a, type: and, and: {and_sub_policy: [{name: b, type: composite}]}}",
     f"{KEY}[0].and.and_sub_policy[0].type", "unknown sampling policy type 'composite'"),
    ("- {name: a, type: and, and: {and_sub_policy: [{name: b, type: and}]}}",
     f"{KEY}[0].and.and_sub_policy[0].type", "in an and/drop/not sub-policy"),
    # names
    ("- {type: always_sample}", f"{KEY}[0].name", "policy name cannot be empty"),
    ("- {name: a, type: always_sample}\n- {name: a, type: always_sample}", f"{KEY}[1].name", "duplicate policy name 'a'"),
    # per-policy validation as upstream
    ("- {name: a, type: status_code, status_code: {status_codes: []}}",
     f"{KEY}[0].status_code.status_codes", "expected at least one status code"),
    ("- {name: a, type: status_code, status_code: {status_codes: [OK, EROR]}}",
     f"{KEY}[0].status_code.status_codes[1]", "unknown status code 'EROR' (did you mean \"ERROR\"?), supported: OK, ERROR, UNSET"),
    ("- {name: a, type: string_attribute, string_attribute: {key: k, values: [ok, '(bad'], enabled_regex_matching: true}}",
     f"{KEY}[0].string_attribute.values[1]", "invalid regex '(bad'"),
    ("- {name: a, type: numeric_attribute, numeric_attribute: {key: k}}",
     f"{KEY}[0].numeric_attribute", "at least one of min_value or max_value"),
    ("- {name: a, type: ottl_condition, ottl_condition: {error_mode: ignore}}",
     f"{KEY}[0].ottl_condition", "expected at least one OTTL condition"),
    ("- {name: a, type: ottl_condition, ottl_condition: {error_mode: ignor, span: ['true']}}",
     f"{KEY}[0].ottl_condition.error_mode", 'did you mean "ignore"'),
    ("- {name: a, type: ottl_condition, ottl_condition: {span: ['true', 'duration > 1']}}",
     f"{KEY}[0].ottl_condition.span[1]", "path duration is not supported"),
    ("- {name: a, type: not, not: {}}", f"{KEY}[0].not.not_sub_policy", "is required"),
    ("- {name: a, type: latency, latency: {threshold_ms: fast}}",
     f"{KEY}[0].latency.threshold_ms", "expected a whole number"),
    ("- {name: a, type: composite, composite: {rate_allocation: [{policy: x, percnt: 5}]}}",
     f"{KEY}[0].composite.rate_allocation[0].percnt", 'did you mean "percent"'),
    ("- {name: a, type: boolean_attribute, boolean_attribute: {value: true}}",
     f"{KEY}[0].boolean_attribute.key", "is required"),
])
def test_config_errors(text, key, fragment):
    err = error(text)
    assert err.key == key
    assert fragment in str(err)


def test_sub_policy_names_default_to_their_type():
    (policy,) = build("- {name: a, type: and, and: {and_sub_policy: [{type: always_sample}]}}")
    assert policy.subpolicies[0].name == "always_sample"


def test_build_policy_single():
    section = Section({"name": "x", "type": "trace_flags"}, "p")
    assert build_policy(section, FakeClock()).name == "x"


def test_policies_share_the_injected_clock():
    clock = FakeClock()
    (policy,) = build("- {name: r, type: rate_limiting, rate_limiting: {spans_per_second: 1}}", clock)
    one = trace(span())
    assert [policy.evaluate(one).decision for _ in range(3)] == [Decision.Sampled, Decision.Sampled,
                                                                 Decision.NotSampled]
    clock.advance(1)
    assert policy.evaluate(one).decision is Decision.Sampled
