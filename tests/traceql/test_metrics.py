"""TraceQL metrics on the embedded store: known answers computed from ``metrics_dataset.SPANS``
with Tempo's step rules (the reference in ``metrics_dataset``, written from Tempo's
``IntervalMapperQueryRange`` and ``AlignRequest``), weighted by AdjustedCount; spanset
operators; the entry/error spans shortcut; limits and hostile input; the sampling estimate."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import pytest

from spanhouse.analysis.store import AnalysisStore
from spanhouse.errors import InvalidInput
from spanhouse.query.service import QueryService
from spanhouse.query.traceql import ast, metrics
from spanhouse.query.traceql import metrics_sql as metrics_sql_module
from spanhouse.query.traceql.metrics import metrics_sql, run_metrics
from spanhouse.store.connection import chdb_path
from spanhouse.store.pool import Pool
from spanhouse.store.writer import TraceWriter

from tests.store.exporter_ddl import create_exporter_tables
from tests.traceql import metrics_dataset as ds

S, MS = ds.S, ds.MS
SERVICE = ast.Attribute(ast.RESOURCE, "service.name")
STATUS_CODE = ast.Attribute(ast.SPAN, "http.status_code")
TIER = ast.Attribute(ast.NONE, "tier")
DURATION = ast.Intrinsic("duration")
IS_ERROR = ast.BinaryOperation("=", ast.Intrinsic("status"), ast.Static(ast.STATUS, "error"))
START, END, STEP = ds.START, ds.END, ds.STEP
grouped, stamp, tempo_steps = ds.grouped, ds.stamp, ds.tempo_steps
weighted_quantile = ds.weighted_quantile


def query(fn, condition=None, attribute=None, quantiles=(), by=(), pipeline=None):
    pipeline = pipeline or ast.Pipeline((ast.SpansetFilter(condition),))
    return ast.Query(pipeline, ast.MetricsAggregate(fn, attribute, tuple(quantiles), tuple(by)))


@pytest.fixture(scope="module")
def reader(make_store):
    return make_store(ds.batches(), "metrics")[1]


def as_dict(result):
    return {tuple(s.labels): dict(s.samples) for s in result.series}


def near(actual: dict, expected: dict):
    assert actual.keys() == expected.keys()
    for key in expected:
        assert actual[key].keys() == expected[key].keys(), key
        for ts in expected[key]:
            assert actual[key][ts] == pytest.approx(expected[key][ts], rel=1e-9), (key, ts)


def is_error(span):
    return span.error


def service_label(span):
    return ((("resource.service.name", span.service),) if span.service
            else (("resource.service.name", None),))


# ----------------------------------------------------------------------------- counts and rates
def test_count_over_time_sums_weights_per_right_closed_step(reader):
    result = run_metrics(reader, query("count_over_time"), START, END, STEP)
    expected = {(("__name__", "count_over_time"),): {
        ts: sum(s.weight for s in spans) for ts, spans in grouped()[()].items()}}
    near(as_dict(result), expected)
    # Right-closed steps: the span at exactly B + 60 s is in the step stamped B + 60 s.
    first = result.series[0].samples[0]
    assert first == ((ds.B + 60 * S) // MS, sum(s.weight for s in ds.SPANS if 0 < s.at_s <= 60))
    assert result.sampling_aware is True
    stored = sum(len(v) for v in grouped()[()].values())
    assert result.inspected_spans == stored


@pytest.mark.parametrize("offset_ms, step_s", [
    (0, 10), (7_000, 30), (59_500, 60), (3_000, 7), (-250_000, 120), (0, 3600)])
def test_steps_align_as_tempo_for_any_start_and_step(reader, offset_ms, step_s):
    start, end = ds.B + offset_ms * MS, ds.B + 200 * S + offset_ms * MS
    result = run_metrics(reader, query("count_over_time"), start, end, step_s * S)
    expected = {(("__name__", "count_over_time"),): {
        ts: sum(s.weight for s in spans)
        for ts, spans in grouped(start=start, end=end, step=step_s * S)[()].items()}}
    near(as_dict(result), expected)
    assert all(ts % (step_s * 1000) == 0 for ts, _ in result.series[0].samples)


def test_rate_is_weighted_spans_per_second_of_the_step(reader):
    result = run_metrics(reader, query("rate", IS_ERROR), START, END, STEP)
    expected = {(("__name__", "rate"),): {
        ts: sum(s.weight for s in spans) / 60 for ts, spans in grouped(is_error)[()].items()}}
    near(as_dict(result), expected)


def test_rate_by_service_has_one_series_per_service_and_a_nil_one(reader):
    result = run_metrics(reader, query("rate", by=[SERVICE]), START, END, 30 * S)
    groups = grouped(key=service_label, step=30 * S)
    expected = {key: {ts: sum(s.weight for s in spans) / 30 for ts, spans in steps.items()}
                for key, steps in groups.items()}
    assert len(expected) == 3            # cart, shop and the span without service.name
    near(as_dict(result), expected)


def test_weighted_error_count_and_stored_spans(reader):
    """A span kept at 5% (AdjustedCount 20) counts 20; inspected_spans is the stored count."""
    result = run_metrics(reader, query("count_over_time", IS_ERROR), START, END, None)
    errors = [s for s in ds.SPANS if s.error and START <= s.start_ns <= END]
    assert [(s.labels, [v for _, v in s.samples]) for s in result.series] == [
        ([("__name__", "count_over_time")], [sum(s.weight for s in errors)])]
    assert result.series[0].samples[0][0] == END // MS
    assert result.inspected_spans == len(errors) == 3
    assert sum(s.weight for s in errors) == 26


def test_by_numeric_attribute_gives_numeric_labels(reader):
    result = run_metrics(reader, query("count_over_time", by=[STATUS_CODE]), START, END, None)
    expected = defaultdict(float)
    for span in ds.SPANS:
        if START <= span.start_ns <= END:
            expected[span.attributes.get("http.status_code")] += span.weight
    got = {s.labels[0][1]: s.samples[0][1] for s in result.series}
    assert got == pytest.approx(dict(expected))
    assert all(isinstance(k, int) for k in got if k is not None)
    assert ("span.http.status_code", None) in [s.labels[0] for s in result.series]


def test_by_two_fields_leaves_missing_values_out(reader):
    result = run_metrics(reader, query("count_over_time", by=[SERVICE, TIER]), START, END, None)

    def labels(span):
        pairs = (("resource.service.name", span.service), (".tier", span.attributes.get("tier")))
        kept = tuple(p for p in pairs if p[1] is not None)
        return kept or (("resource.service.name", None),)

    expected = defaultdict(float)
    for span in ds.SPANS:
        if START <= span.start_ns <= END:
            expected[labels(span)] += span.weight
    assert {tuple(s.labels): s.samples[0][1] for s in result.series} == pytest.approx(
        dict(expected))


class WithoutAdditions:
    """The same store with its additions hidden (the traces table alone answers)."""

    def __init__(self, reader):
        self.reader = reader

    def tables(self):
        return dataclasses.replace(self.reader.tables(), entry_error=None, summary=None)

    def rows(self, sql, parameters, what):
        return self.reader.rows(sql, parameters, what)


@pytest.mark.parametrize("fn, attribute, by", [
    ("rate", None, [SERVICE]), ("count_over_time", None, [SERVICE, ast.Intrinsic("name")]),
    ("quantile_over_time", DURATION, []), ("histogram_over_time", DURATION, [SERVICE]),
    ("avg_over_time", DURATION, [])])
def test_error_queries_read_the_error_spans_table_with_the_same_answer(reader, fn, attribute,
                                                                       by):
    qs = (0.5, 0.9) if fn == "quantile_over_time" else ()
    q = query(fn, IS_ERROR, attribute, qs, by)
    [fast] = metrics_sql(reader, q, START, END, STEP)
    [plain] = metrics_sql(WithoutAdditions(reader), q, START, END, STEP)
    assert "entry_error_spans" in fast and "entry_error_spans" not in plain
    got = run_metrics(reader, q, START, END, STEP)
    assert as_dict(got) == as_dict(run_metrics(WithoutAdditions(reader), q, START, END, STEP))
    assert got.series and got.inspected_spans == sum(
        1 for s in ds.SPANS if s.error and stamp(s, START, END, STEP) is not None)
    # anything else the table does not have goes to the traces table
    [other] = metrics_sql(reader, query(fn, IS_ERROR, attribute, qs, [TIER]), START, END, STEP)
    assert "entry_error_spans" not in other


# ----------------------------------------------------------------------------- values of a field
def test_quantiles_are_weighted_and_in_seconds(reader):
    qs = (0.5, 0.9, 0.99)
    result = run_metrics(reader, query("quantile_over_time", attribute=DURATION, quantiles=qs),
                         START, END, STEP)
    steps = grouped()[()]
    expected = {(("p", q),): {ts: weighted_quantile(
        [(s.duration_ns / S, round(s.weight)) for s in spans], q) for ts, spans in steps.items()}
        for q in qs}
    near(as_dict(result), expected)
    # the weights matter: unweighted, p90 of the step ending at 120 s would differ
    second = steps[(ds.B + 120 * S) // MS]
    assert weighted_quantile([(s.duration_ns, 1) for s in second], 0.9) != \
        weighted_quantile([(s.duration_ns, s.weight) for s in second], 0.9)


def test_quantiles_by_service(reader):
    result = run_metrics(reader, query("quantile_over_time", attribute=DURATION,
                                       quantiles=(0.5,), by=[SERVICE]), START, END, None)
    expected = {}
    for key, steps in grouped(key=service_label, step=None).items():
        for ts, spans in steps.items():
            expected[key + (("p", 0.5),)] = {ts: weighted_quantile(
                [(s.duration_ns / S, round(s.weight)) for s in spans], 0.5)}
    near(as_dict(result), expected)


@pytest.mark.parametrize("fn, reduce", [
    ("avg_over_time", lambda spans: sum(s.duration_ns / S * s.weight for s in spans)
     / sum(s.weight for s in spans)),
    ("sum_over_time", lambda spans: sum(s.duration_ns / S * s.weight for s in spans)),
    ("min_over_time", lambda spans: min(s.duration_ns / S for s in spans)),   # unweighted
    ("max_over_time", lambda spans: max(s.duration_ns / S for s in spans)),
])
def test_over_time_of_duration(reader, fn, reduce):
    result = run_metrics(reader, query(fn, attribute=DURATION, by=[SERVICE]), START, END, STEP)
    expected = {key: {ts: reduce(spans) for ts, spans in steps.items()}
                for key, steps in grouped(key=service_label).items()}
    near(as_dict(result), expected)


def test_avg_of_a_numeric_attribute_skips_spans_without_it(reader):
    result = run_metrics(reader, query("avg_over_time", attribute=STATUS_CODE), START, END, None)
    spans = [s for s in ds.SPANS
             if START <= s.start_ns <= END and "http.status_code" in s.attributes]
    expected = sum(s.attributes["http.status_code"] * s.weight for s in spans) / \
        sum(s.weight for s in spans)
    assert [(s.labels, s.samples) for s in result.series] == [
        ([("__name__", "avg_over_time")], [(END // MS, pytest.approx(expected))])]


def test_histogram_has_log2_buckets_in_seconds(reader):
    result = run_metrics(reader, query("histogram_over_time", attribute=DURATION), START, END,
                         STEP)
    expected = defaultdict(lambda: defaultdict(float))
    for ts, spans in grouped()[()].items():
        for span in spans:
            if span.duration_ns >= 2:       # Tempo has no bucket for 0 and 1 ns
                bucket = 1 << (span.duration_ns - 1).bit_length()   # Log2Bucketize
                expected[(("__bucket", bucket / S),)][ts] += span.weight
    near(as_dict(result), {k: dict(v) for k, v in expected.items()})
    assert (("__bucket", 2 ** 27 / S),) in expected        # 100 ms -> (67 ms, 134 ms]


# ----------------------------------------------------------------------------- spanset operators
def in_service(name):
    return ast.SpansetFilter(ast.BinaryOperation("=", SERVICE, ast.Static(ast.STRING, name)))


def spans_in_window():
    return [(s.trace if s.trace is not None else i, s) for i, s in enumerate(ds.SPANS)
            if START <= s.start_ns <= END]


def test_and_between_spansets_keeps_spans_of_traces_with_both(reader):
    both = ast.Pipeline((ast.SpansetOperation("&&", in_service("cart"), in_service("shop")),))
    result = run_metrics(reader, query("count_over_time", pipeline=both), START, END, None)
    spans = spans_in_window()
    services = defaultdict(set)
    for trace, span in spans:
        services[trace].add(span.service)
    expected = sum(s.weight for trace, s in spans if {"cart", "shop"} <= services[trace])
    assert expected == 2                     # trace 100 only
    assert [s.samples[0][1] for s in result.series] == [expected]


def test_or_between_spansets_and_a_filter_stage(reader):
    either = ast.Pipeline((ast.SpansetOperation("||", in_service("cart"), in_service("shop")),))
    result = run_metrics(reader, query("count_over_time", pipeline=either), START, END, None)
    assert [s.samples[0][1] for s in result.series] == [
        sum(s.weight for _, s in spans_in_window() if s.service in ("cart", "shop"))]
    paid = ast.BinaryOperation("=", TIER, ast.Static(ast.STRING, "paid"))
    staged = ast.Pipeline((either.stages[0], ast.SpansetFilter(paid)))
    result = run_metrics(reader, query("count_over_time", pipeline=staged), START, END, None)
    assert [s.samples[0][1] for s in result.series] == [
        sum(s.weight for _, s in spans_in_window()
            if s.service in ("cart", "shop") and s.attributes.get("tier") == "paid")]


def test_trace_level_fields(reader):
    """traceDuration (seconds, as duration) and rootServiceName read the trace of each span."""
    traces = defaultdict(list)
    for trace, span in spans_in_window():
        traces[trace].append(span)
    length = {t: (max(s.start_ns + s.duration_ns for s in spans)
                  - min(s.start_ns for s in spans)) / S for t, spans in traces.items()}
    long_traces = ast.BinaryOperation(">", ast.Intrinsic("traceDuration"),
                                      ast.Static(ast.DURATION, S))
    result = run_metrics(reader, query("max_over_time", long_traces, ast.Intrinsic("traceDuration"),
                                       by=[ast.Intrinsic("rootServiceName")]), START, END, None)
    expected = defaultdict(float)
    for trace, spans in traces.items():
        if length[trace] > 1:
            root = spans[0].service              # every trace's first span is its root
            key = (("rootServiceName", root or ""),)
            expected[key] = max(expected[key], length[trace])
    assert {tuple(s.labels): s.samples[0][1] for s in result.series} == pytest.approx(
        dict(expected))
    assert (("rootServiceName", "cart"),) in expected          # trace 100: 1.03 s
    root_cart = ast.SpansetFilter(ast.BinaryOperation(
        "=", ast.Intrinsic("rootServiceName"), ast.Static(ast.STRING, "cart")))
    both = ast.Pipeline((ast.SpansetOperation("&&", root_cart, in_service("shop")),))
    result = run_metrics(reader, query("count_over_time", pipeline=both), START, END, None)
    in_both = [s for t, spans in traces.items() if spans[0].service == "cart"
               and any(s.service == "shop" for s in spans) for s in spans]
    assert [s.samples[0][1] for s in result.series] == [sum(s.weight for s in in_both)] == [2]


def test_log2_buckets_are_exact_near_large_powers_of_two(reader):
    values = [2, 3, 4, 5, 1023, 1024, 1025, 2 ** 45 + 1, 2 ** 50 - 1, 2 ** 52 + 1, 2 ** 62 + 1]
    sql = (f"SELECT x, {metrics_sql_module._log2_bucket('x')} "
           "FROM (SELECT arrayJoin({values:Array(UInt64)}) AS x) ORDER BY x")
    rows = reader.rows(sql, {"values": values}, "log2 buckets")
    assert rows == [(v, 1 << (v - 1).bit_length()) for v in values]


# ----------------------------------------------------------------------------- limits and input
def test_series_past_the_limit_are_cut_largest_first(reader, monkeypatch):
    monkeypatch.setattr(metrics, "MAX_SERIES", 2)
    result = run_metrics(reader, query("count_over_time", by=[STATUS_CODE]), START, END, None)
    totals = defaultdict(float)
    for span in ds.SPANS:
        if START <= span.start_ns <= END:
            totals[span.attributes.get("http.status_code")] += span.weight
    biggest = sorted(totals.values(), reverse=True)[:2]
    assert result.truncated is True and len(result.series) == 2
    assert [s.samples[0][1] for s in result.series] == biggest
    assert result.inspected_spans == sum(1 for s in ds.SPANS if START <= s.start_ns <= END)
    monkeypatch.setattr(metrics, "MAX_SERIES", len(totals))
    whole = run_metrics(reader, query("count_over_time", by=[STATUS_CODE]), START, END, None)
    assert whole.truncated is False and len(whole.series) == len(totals)


@pytest.mark.parametrize("q, start, end, step, message", [
    (query("rate"), START, END, 0, "step must be greater than 0"),
    (query("rate"), START, END, -5, "step"),
    (query("rate"), START, START + 3600 * S, 100 * MS, "minimum step for given range is 360ms"),
    (query("rate"), END, START, STEP, "end must be greater than start"),
    (query("rate"), START, START, None, "end must be greater than start"),
    (query("rate"), -1, END, STEP, "start"),
    (query("rate"), START, END, True, "step"),
    (query("frobnicate_over_time"), START, END, STEP, "unknown metrics function"),
    (query("rate", attribute=DURATION), START, END, STEP, "takes no field"),
    (query("avg_over_time"), START, END, STEP, "needs a field"),
    (query("quantile_over_time", attribute=DURATION), START, END, STEP, "at least one quantile"),
    (query("quantile_over_time", attribute=DURATION, quantiles=[1.5]), START, END, STEP,
     "from 0 to 1"),
    (query("quantile_over_time", attribute=DURATION, quantiles=[float("nan")]), START, END,
     STEP, "from 0 to 1"),
    (query("rate", by=[TIER] * 6), START, END, STEP, "at most 5 fields"),
    (query("rate", pipeline=ast.Pipeline((ast.SpansetOperation(
        ">>", ast.SpansetFilter(), ast.SpansetFilter(IS_ERROR)),))), START, END, STEP,
     "structural operator '>>'"),
    (query("rate", pipeline=ast.Pipeline((ast.SpansetFilter(), ast.ScalarFilter(
        ">", ast.Aggregate("count"), ast.Static(ast.INT, 2))))), START, END, STEP,
     "scalar filter"),
    (query("avg_over_time", attribute=ast.Intrinsic("name")), START, END, STEP, "not a number"),
    (ast.Query(ast.Pipeline((ast.SpansetFilter(),))), START, END, STEP, "not a metrics query"),
])
def test_bad_queries_and_ranges_are_invalid_input(reader, q, start, end, step, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_metrics(reader, q, start, end, step)


def test_hostile_values_are_bound_not_formatted(reader):
    hostile = "x'); DROP TABLE otel_traces; --"
    q = query("rate", ast.BinaryOperation("=", SERVICE, ast.Static(ast.STRING, hostile)),
              by=[ast.Attribute(ast.SPAN, hostile)])
    [sql] = metrics_sql(reader, q, START, END, STEP)
    assert hostile not in sql and "DROP" not in sql
    assert run_metrics(reader, q, START, END, STEP).series == []
    assert run_metrics(reader, query("count_over_time"), START, END, None).series  # still there


def test_explain_is_one_statement_with_placeholders(reader):
    [sql] = metrics_sql(reader, query("rate", IS_ERROR, by=[SERVICE]), START, END, STEP)
    assert "{start:Int64}" in sql and "GROUP BY" in sql and str(STEP) not in sql


@pytest.fixture(scope="module")
def exporter_reader(traceql_endpoint, client_factory):
    """The dataset in a table the collector's exporter created: no AdjustedCount column."""
    database = "tq_metrics_exporter"
    create_exporter_tables(chdb_path(traceql_endpoint), "sql_templates", database)
    TraceWriter(client_factory(), database, "otel_traces").write(ds.batches()[0])
    service = QueryService(Pool(client_factory, size=2), database, "otel_traces")
    return AnalysisStore(None, database, "otel_traces", query=service)


def test_a_table_without_adjusted_count_counts_stored_spans(exporter_reader):
    result = run_metrics(exporter_reader, query("count_over_time", IS_ERROR), START, END, None)
    errors = [s for s in ds.SPANS if s.error and START <= s.start_ns <= END]
    assert result.sampling_aware is False
    assert [s.samples[0][1] for s in result.series] == [len(errors)]
    assert result.inspected_spans == len(errors)
    # no attribute type columns either: by() labels are the exporter's strings
    by_code = run_metrics(exporter_reader, query("count_over_time", by=[STATUS_CODE]), START,
                          END, None)
    expected = defaultdict(int)
    for span in ds.SPANS:
        if START <= span.start_ns <= END:
            code = span.attributes.get("http.status_code")
            expected[None if code is None else str(code)] += 1
    assert {s.labels[0][1]: s.samples[0][1] for s in by_code.series} == dict(expected)


# ----------------------------------------------------------------------------- sampling estimate
@pytest.fixture(scope="module")
def sampled(make_store):
    return make_store(ds.error_rate_batches(), "errrate")[1]


def test_rates_estimate_the_true_traffic_under_tail_sampling(sampled):
    traces, kept = ds.error_rate_truth()
    start, end = ds.RATE_START, ds.RATE_START + ds.RATE_SECONDS * S
    true_errors = 2 * sum(1 for _, error in traces if error) / ds.RATE_SECONDS
    true_all = 2 * len(traces) / ds.RATE_SECONDS
    errors = run_metrics(sampled, query("rate", IS_ERROR), start, end, None)
    every = run_metrics(sampled, query("rate"), start, end, None)
    assert errors.series[0].samples[0][1] == pytest.approx(true_errors, rel=0.10)
    assert every.series[0].samples[0][1] == pytest.approx(true_all, rel=0.10)
    stored = 2 * (len(kept) + sum(1 for _, error in traces if error))
    assert every.inspected_spans == stored < 2 * len(traces) / 4
    # per step and service too (10-minute steps): every error span is kept, so the stored
    # error spans are the true ones and each step's error rate is exact
    error_spans = [s for s in ds.error_rate_spans() if s.error]
    assert len(error_spans) == 2 * sum(1 for _, error in traces if error)
    by_step = run_metrics(sampled, query("rate", IS_ERROR, by=[SERVICE]), start, end, 600 * S)
    origin, _ = tempo_steps(start, end, 600 * S)
    truth = defaultdict(lambda: defaultdict(float))
    for span in error_spans:
        step_end = origin + -(-(span.start_ns - origin) // (600 * S)) * 600 * S
        truth[(("resource.service.name", span.service),)][step_end // MS] += 1 / 600
    near(as_dict(by_step), {k: dict(v) for k, v in truth.items()})


def test_text_queries_through_the_engine(make_engine):
    engine = make_engine(ds.batches(), "metricsengine")
    result = engine.metrics_range("{ status = error } | rate() by (resource.service.name)",
                                  START, END, STEP)
    expected = {key: {ts: sum(s.weight for s in spans) / 60 for ts, spans in steps.items()}
                for key, steps in grouped(is_error, service_label).items()}
    near(as_dict(result), expected)
    instant = engine.metrics_instant(
        '{ resource.service.name = "cart" } | quantile_over_time(duration, .5)', START, END)
    cart = [s for s in ds.SPANS if s.service == "cart" and START <= s.start_ns <= END]
    assert [(s.labels, s.samples) for s in instant.series] == [([("p", 0.5)], [(
        END // MS, weighted_quantile([(s.duration_ns / S, s.weight) for s in cart], 0.5))])]
    assert len(engine.explain("{ } | count_over_time() by (span.tier)", START, END, STEP)) == 1
    with pytest.raises(InvalidInput, match="structural operator"):
        engine.metrics_range("{ } >> { status = error } | rate()", START, END, STEP)
