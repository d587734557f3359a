"""``query:``, Spanhouse's own top-level section (the collector has none): the query API and
UI port and what protects it.

```yaml
query:
  endpoint: localhost:16686        # --ui overrides it
  auth: {authenticator: basicauth} # an extension listed in service.extensions
  tls: {cert_file: ..., key_file: ..., client_ca_file: ...}
  max_concurrent_queries: 4        # queries at once; the next waits ~1 s, then 503 + Retry-After
  max_execution_time: 30s          # a store query running longer is cancelled
```

``/healthz`` and ``/readyz`` stay open (load balancers probe them); everything else, ``/metrics``
included (it names services and endpoints), needs the authenticator's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

from spanhouse.config.listener import ListenerSecurity, parse_security
from spanhouse.config.section import Section

FIELDS = ("endpoint", "auth", "tls", "max_concurrent_queries", "max_execution_time")
DEFAULT_ENDPOINT = "localhost:16686"


@dataclass(frozen=True)
class QuerySettings:
    endpoint: str | None = None                 # None: not set (the default or --ui)
    security: ListenerSecurity = ListenerSecurity()
    max_concurrent_queries: int | None = None   # None: the query service's default
    max_execution_time_s: float | None = None   # None: the query service's default


def parse_query(section: Section) -> QuerySettings:
    section.allow(*FIELDS)
    endpoint = section.string("endpoint", None)
    security = parse_security(section, http=False)
    limit = section.integer("max_concurrent_queries", None, minimum=1)
    timeout = section.duration("max_execution_time", None, minimum=0.001)
    return QuerySettings(endpoint, security, limit, timeout)
