"""Small hand-built traces for the policy tests: a ``SpanBatch`` built column by column."""

from __future__ import annotations

from spanhouse.model.batch import SpanBatch
from spanhouse.model.enums import SpanKind, StatusCode
from spanhouse.processors.tail_sampling.trace import TraceView
from spanhouse.processors.tail_sampling.verdict import Verdict
from tests.store.batches import add_set

TRACE_ID = "0102030405060708090a0b0c0d0e0f10"
T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def span(name="op", *, start=T0, duration_ms=1, end=None, kind=SpanKind.INTERNAL,
         status=StatusCode.UNSET, flags=1,
         trace_state="", attributes=None, resource=0, events=(), parent="", scope=0) -> dict:
    return dict(name=name, start=start, end=end if end is not None else start + duration_ms * MS,
                kind=kind, status=status, flags=flags, trace_state=trace_state,
                attributes=attributes or {}, resource=resource, events=list(events),
                parent=parent, scope=scope)


def batch(spans: list[dict], resources: list[dict] | None = None, trace_id: str = TRACE_ID) -> SpanBatch:
    b = SpanBatch()
    for attrs in resources or [{}]:
        b.add_resource(str(attrs.get("service.name", "svc")))
        add_set(b.resource_attributes, attrs)
    b.add_scope("scope", "1.0")
    for i, s in enumerate(spans):
        b.trace_id.append(trace_id)
        b.span_id.append(f"{i + 1:016x}")
        b.parent_span_id.append(s["parent"])
        b.trace_state.append(s["trace_state"])
        b.flags.append(s["flags"])
        b.name.append(s["name"])
        b.kind.append(int(s["kind"]))
        b.start_ns.append(s["start"])
        b.end_ns.append(s["end"])
        b.status_code.append(int(s["status"]))
        b.status_message.append("")
        b.dropped_attributes_count.append(0)
        b.dropped_events_count.append(0)
        b.dropped_links_count.append(0)
        b.resource_index.append(s["resource"])
        b.scope_index.append(s["scope"])
        add_set(b.attributes, s["attributes"])
        for event_name, event_attrs in s["events"]:
            b.event_time_ns.append(s["start"])
            b.event_name.append(event_name)
            b.event_dropped_attributes_count.append(0)
            add_set(b.event_attributes, event_attrs)
        b.event_offsets.append(len(b.event_name))
        b.link_offsets.append(len(b.link_span_id))
    return b


def trace(*spans: dict, resources: list[dict] | None = None, trace_id: str = TRACE_ID,
          size_bytes: int = 0) -> TraceView:
    """One trace in one batch (``resources``: the resource attribute sets spans point into)."""
    view = TraceView(trace_id)
    if spans:
        b = batch(list(spans), resources, trace_id)
        view.add(b, list(range(len(spans))), size_bytes)
    return view


def trace_in_parts(*parts: list[dict], trace_id: str = TRACE_ID) -> TraceView:
    """One trace whose spans arrived in several batches (one part per list)."""
    view = TraceView(trace_id)
    for spans in parts:
        b = batch(spans, None, trace_id)
        view.add(b, list(range(len(spans))), 0)
    return view


class Fixed:
    """A policy that always returns one verdict, counting its evaluations."""

    def __init__(self, name, decision, probability=1.0):
        self.name = name
        self.verdict = Verdict(decision, probability)
        self.calls = 0

    def evaluate(self, tr):
        self.calls += 1
        return self.verdict


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
