"""Tempo's JSON response bodies, as its query frontend writes them.

Tempo marshals protobuf messages (``pkg/tempopb/tempo.proto``) with gogo's ``jsonpb``:
lowerCamelCase field names, 64-bit integers as JSON *strings* (``startTimeUnixNano``,
``durationNanos``, ``timestampMs``, ``intValue``, ``inspectedBytes``), 32-bit ones as numbers
(``durationMs``, ``matched``, ``inspectedTraces``), and fields at their zero value left out.
Grafana's backend reads the metrics bodies with golang/protobuf's *strict* ``jsonpb.Unmarshal``:
a field the message does not have fails the whole query. So nothing is added to these bodies;
Spanhouse's own statements (sampling) travel in response headers (``SAMPLING_HEADERS``).
"""

from __future__ import annotations

import re

from spanhouse.api.otlp_json_out import any_value, json_double
from spanhouse.query.traceql.results import MetricsResult, SearchResult, Series

ROOT_NOT_RECEIVED = "<root span not yet received>"   # Tempo's pkg/search RootSpanNotYetReceivedText
SAMPLING_AWARE_HEADER = "X-Spanhouse-Sampling-Aware"
ESTIMATE_HEADER = "X-Spanhouse-Estimate"
TRUNCATED_HEADER = "X-Spanhouse-Truncated"
ESTIMATE_NOTE = ("sampling-aware estimate: each stored span counts for its AdjustedCount "
                 "(the spans it stands for before sampling)")
RAW_NOTE = "stored spans: the table has no AdjustedCount column, so values are not corrected for sampling"


def key_values(pairs) -> list[dict]:
    return [{"key": str(key), "value": any_value(value)} for key, value in pairs]


# Tempo's asTraceSearchMetadata (pkg/traceql/engine.go): a span's attributes are keyed by the
# attribute's bare name ("http.route", "service.name", "status"), and these intrinsics are not
# repeated there (they have fields of their own, or belong to the trace).
_NOT_SPAN_ATTRIBUTES = {"name", "duration", "traceDuration", "rootName", "rootServiceName",
                        "trace:id", "span:id"}
_SCOPE = re.compile(r'^(?:parent\.)?(?:span|resource|event|link|instrumentation)?\.')


def tempo_key(label: str) -> str:
    """The key Tempo gives a span attribute in a search answer: the engine's label without its
    scope (``span.http.route`` -> ``http.route``, ``."a b"`` -> ``a b``)."""
    bare = _SCOPE.sub("", label, count=1)
    if len(bare) >= 2 and bare[0] == bare[-1] == '"':
        bare = bare[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return bare


def _span_attributes(attributes: dict) -> list[dict]:
    return key_values((tempo_key(label), value) for label, value in attributes.items()
                      if label not in _NOT_SPAN_ATTRIBUTES)


def _put(out: dict, key: str, value) -> None:
    if value:
        out[key] = value


def _span_set(span_set) -> dict:
    spans = []
    for span in span_set.spans:
        item: dict = {"spanID": span.span_id}
        _put(item, "name", span.name)
        _put(item, "startTimeUnixNano", str(span.start_ns) if span.start_ns else "")
        _put(item, "durationNanos", str(span.duration_ns) if span.duration_ns else "")
        _put(item, "attributes", _span_attributes(span.attributes))
        spans.append(item)
    out: dict = {}
    _put(out, "spans", spans)
    _put(out, "matched", span_set.matched)
    _put(out, "attributes", key_values(span_set.attributes.items()))
    return out


def search_json(result: SearchResult) -> dict:
    """``SearchResponse``: ``traces`` (``TraceSearchMetadata``) and ``metrics``."""
    traces = []
    for trace in result.traces:
        item: dict = {"traceID": trace.trace_id,
                      "rootServiceName": trace.root_service_name or ROOT_NOT_RECEIVED}
        _put(item, "rootTraceName", trace.root_trace_name)
        _put(item, "startTimeUnixNano", str(trace.start_ns) if trace.start_ns else "")
        _put(item, "durationMs", trace.duration_ns // 1_000_000)
        span_sets = [_span_set(s) for s in trace.span_sets]
        if span_sets:
            # ``spanSet`` is deprecated upstream but still filled with the first one, and
            # older Grafana versions read only it.
            item["spanSet"] = span_sets[0]
            item["spanSets"] = span_sets
        traces.append(item)
    metrics: dict = {}
    _put(metrics, "inspectedTraces", result.inspected_traces)
    _put(metrics, "inspectedSpans", str(result.inspected_spans) if result.inspected_spans else "")
    metrics.update(completedJobs=1, totalJobs=1)
    return {"traces": traces, "metrics": metrics}


def _labels(series: Series) -> list[dict]:
    return key_values(series.labels)


def query_range_json(result: MetricsResult) -> dict:
    """``QueryRangeResponse``: ``series`` of ``labels`` and ``samples``
    (``{"timestampMs": "<int64>", "value": <double>}``), and ``metrics``."""
    series = []
    for s in result.series:
        samples = [{"timestampMs": str(int(ts)), "value": json_double(float(v))}
                   for ts, v in s.samples]
        item: dict = {"labels": _labels(s)}
        _put(item, "samples", samples)
        series.append(item)
    return {"series": series, "metrics": _metrics(result)}


def query_instant_json(result: MetricsResult) -> dict:
    """``QueryInstantResponse``: ``series`` of ``labels`` and one ``value`` each."""
    series = []
    for s in result.series:
        value = float(s.samples[-1][1]) if s.samples else 0.0
        series.append({"labels": _labels(s), "value": json_double(value)})
    return {"series": series, "metrics": _metrics(result)}


def _metrics(result: MetricsResult) -> dict:
    metrics: dict = {}
    _put(metrics, "inspectedSpans", str(result.inspected_spans) if result.inspected_spans else "")
    metrics.update(completedJobs=1, totalJobs=1)
    return metrics


def sampling_headers(result: MetricsResult) -> dict[str, str]:
    """What the values are, for a reader of the headers (the body has no room for it)."""
    headers = {SAMPLING_AWARE_HEADER: "true" if result.sampling_aware else "false",
               ESTIMATE_HEADER: ESTIMATE_NOTE if result.sampling_aware else RAW_NOTE}
    if result.truncated:     # the engine cut the series at its limit
        headers[TRUNCATED_HEADER] = "true"
    return headers
