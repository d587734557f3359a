"""Grafana Tempo's HTTP API (TraceQL search, tags, traces, TraceQL metrics) over Spanhouse's
store, so Grafana's Tempo data source works against Spanhouse unchanged.

- ``app``: the routes, ``create_tempo_app`` (the ``--tempo`` port) and ``explain_routes``;
- ``params``: Tempo's parameter grammar (seconds vs. nanoseconds, steps, defaults);
- ``shapes``: Tempo's JSON bodies; ``traces``: trace-by-id as OTLP JSON or protobuf;
- ``legacy``: the old ``tags=`` logfmt search as TraceQL;
- ``tags`` and ``catalog``: tag names and values from the store, for autocomplete.
"""
