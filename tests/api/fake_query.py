"""A fake ``QueryAPI`` for the Jaeger API tests (classic and api_v3): canned data, every call
recorded."""

from __future__ import annotations

from spanhouse.model.span import SpanRecord
from spanhouse.query.model import SearchQuery


class FakeQuery:
    """A ``QueryAPI`` returning canned data and recording every call."""

    def __init__(self, traces=None, services=(), operations=(), dependencies=(), summaries=(),
                 error: Exception | None = None):
        self.traces: dict[str, list[SpanRecord]] = dict(traces or {})
        self._services = list(services)
        self._operations = list(operations)
        self._dependencies = list(dependencies)
        self._summaries = list(summaries)
        self.error = error
        self.calls: list[tuple] = []

    def _call(self, *call):
        self.calls.append(call)
        if self.error:
            raise self.error

    def get_trace(self, trace_id):
        self._call("get_trace", trace_id)
        return list(self.traces.get(trace_id, []))

    def services(self):
        self._call("services")
        return list(self._services)

    def operations(self, service=None, span_kind=None):
        self._call("operations", service, span_kind)
        return list(self._operations)

    def search(self, query: SearchQuery):
        self._call("search", query)
        return list(self._summaries)

    def find_traces(self, query: SearchQuery):
        self._call("find_traces", query)
        return [list(t) for t in self.traces.values()][: query.limit]

    def slowest(self, *a, **kw):  # pragma: no cover - not used by this API
        raise NotImplementedError

    def errors_by_service(self, *a, **kw):  # pragma: no cover
        raise NotImplementedError

    def find_by_attribute(self, *a, **kw):  # pragma: no cover
        raise NotImplementedError

    def dependencies(self, start_ns, end_ns):
        self._call("dependencies", start_ns, end_ns)
        return list(self._dependencies)
