"""The analyses over stored traces, on the query side.

- ``critical_path``: the critical path and self times of one trace (pure, no I/O);
- ``bottleneck``: where a request's time went, for one trace and for an endpoint;
- ``compare``: what is different about the slow or failing traces of a window;
- ``doctor``: what is wrong with the traces themselves (one module per check);
- ``store``: ``AnalysisReader``, the protocol they all read the store through, and
  ``AnalysisStore``, its implementation over the query service.

Their SQL is package data in ``analysis/sql/`` (read with ``spanhouse.sqlfiles``).
"""
