"""Bottlenecks: where a request's time went, for one trace and for an endpoint.

- ``trace``: the bottleneck of one trace (``trace_bottleneck``; ``analyze_trace`` is the pure
  part): its critical path, per span self time and time on the path, the span with the most
  time on the path, and the request's path as hops between services;
- ``endpoint``: where an endpoint's time goes across its traces of a window
  (``endpoint_bottlenecks``; ``aggregate`` is the pure part), against the window before;
- ``figures``: how both show times and shares in JSON.

Both read the store through ``spanhouse.analysis.store.AnalysisReader``.
"""

from spanhouse.analysis.bottleneck.endpoint import (
    DEFAULT_MAX_TRACES, MAX_TRACES, Contribution, Durations, EndpointBottlenecks, Stats, Window,
    aggregate, contributions, endpoint_bottlenecks, percentile, weighted_percentile,
)
from spanhouse.analysis.bottleneck.trace import (
    Hop, SpanTime, TraceBottleneck, analyze_trace, db_system, service_path, trace_bottleneck,
)

__all__ = ["TraceBottleneck", "SpanTime", "Hop", "trace_bottleneck", "analyze_trace",
           "service_path", "EndpointBottlenecks", "Contribution", "Stats", "Window",
           "endpoint_bottlenecks", "aggregate", "contributions", "percentile", "db_system",
           "Durations", "weighted_percentile",
           "DEFAULT_MAX_TRACES", "MAX_TRACES"]
