"""The HTTP query APIs served on the UI port (``app.create_app``), module by module:

- shared by every API: ``boundary`` (typed errors -> HTTP statuses, each API's envelope in one
  place), ``params`` (the query parameters of a request), ``freetext`` (the one policy for
  names and values users type);
- Spanhouse's ``/api/v1``: ``v1`` (the query endpoints), ``v1_bottleneck``, ``v1_compare`` and
  ``v1_doctor`` (the analyses), ``v1_http`` (how they answer), ``v1_params`` (how their
  parameters are read), ``openapi`` (the document at ``/openapi.json``);
- Jaeger's classic ``/api/*``: ``jaeger`` (the handlers), ``jaeger_query`` (its parameters),
  ``jaeger_json`` (traces as Jaeger's JSON); Jaeger's api_v3 ``/api/v3/*``: ``jaeger_v3`` and
  ``otlp_json_out`` (traces as OTLP/JSON); both Jaeger APIs: ``jaeger_params`` and
  ``jaeger_tags``, over the Go ports of ``spanhouse.gotime``.
"""
