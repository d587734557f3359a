"""The collector's ``debug`` exporter: what passes through the pipeline, written to the log.

Settings as upstream: ``verbosity`` (``basic``: one summary line per batch; ``normal``: also one
line per span; ``detailed``: every field of every resource, scope, span, event and link, in the
collector's ``otlptext`` layout), and ``sampling_initial`` / ``sampling_thereafter`` (per second,
the first ``sampling_initial`` batches are logged, then every ``sampling_thereafter``-th; 0 logs
none after the initial ones, as zap's sampler). ``use_internal_logger`` is accepted: Spanhouse
always writes through ``logging`` (the server sends it to stderr).

``export`` never refuses a batch and never raises.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.model.attributes import TYPE_NAMES
from spanhouse.model.batch import AttrColumns, SpanBatch
from spanhouse.model.enums import SPAN_KINDS, STATUS_CODES

log = logging.getLogger(__name__)

VERBOSITIES = ("basic", "normal", "detailed")
# pcommon.ValueType names, as the collector prints them: Str(GET), Int(200), ...
_VALUE_TYPE = {"string": "Str", "bool": "Bool", "int": "Int", "double": "Double",
               "bytes": "Bytes", "array": "Slice", "kvlist": "Map", "empty": "Empty"}


def format_timestamp(ns: int) -> str:
    """As Go's ``time.Time.String()`` in UTC: ``2020-02-11 20:26:13.000000789 +0000 UTC``."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + " +0000 UTC"


def _value(text: str, code: int) -> str:
    name = TYPE_NAMES[code] if 0 <= code < len(TYPE_NAMES) else "string"
    return f"{_VALUE_TYPE[name]}({text})"


class _Sampler:
    """zap's sampler for one message: per ``tick`` seconds, ``initial`` then every
    ``thereafter``-th."""

    def __init__(self, initial: int, thereafter: int, tick: float = 1.0):
        self.initial, self.thereafter, self.tick = initial, thereafter, tick
        self._window = -1
        self._count = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            window = int(time.monotonic() // self.tick)
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            n = self._count
        if n <= self.initial:
            return True
        return self.thereafter > 0 and (n - self.initial) % self.thereafter == 0


class DebugExporter:
    def __init__(self, name: str = "debug", verbosity: str = "basic", sampling_initial: int = 2,
                 sampling_thereafter: int = 1, logger: logging.Logger | None = None):
        if verbosity not in VERBOSITIES:
            raise ValueError(f"verbosity must be one of {VERBOSITIES}")
        self.name = name
        self.verbosity = verbosity
        self.sampling_initial = sampling_initial
        self.sampling_thereafter = sampling_thereafter
        self.log = logger or log
        self._sampler = _Sampler(sampling_initial, sampling_thereafter)

    @classmethod
    def from_config(cls, name: str, section: Section, telemetry=None) -> "DebugExporter":
        section.allow("verbosity", "sampling_initial", "sampling_thereafter", "use_internal_logger")
        section.boolean("use_internal_logger", True)
        return cls(
            name,
            verbosity=section.string("verbosity", "basic", choices=VERBOSITIES),
            sampling_initial=section.integer("sampling_initial", 2, minimum=0),
            sampling_thereafter=section.integer("sampling_thereafter", 1, minimum=0),
        )

    # ------------------------------------------------------------------ exporter protocol
    def start(self) -> None:
        pass

    def export(self, batch: SpanBatch) -> None:
        if len(batch) == 0 or not self._sampler.allow():
            return
        try:
            self.log.info("%s", self.summary(batch))
            if self.verbosity == "normal":
                self.log.info("%s", self.normal(batch))
            elif self.verbosity == "detailed":
                self.log.info("%s", self.detailed(batch))
        except Exception:  # a debugging aid must never break the pipeline
            self.log.exception("debug exporter %s: cannot format a batch", self.name)

    def flush(self, timeout: float) -> bool:
        return True

    def shutdown(self, timeout: float) -> bool:
        for handler in self.log.handlers:
            handler.flush()
        return True

    # ------------------------------------------------------------------ formatting
    @staticmethod
    def _resource_count(batch: SpanBatch) -> int:
        return len(set(batch.resource_index))

    def summary(self, batch: SpanBatch) -> str:
        """``Traces {"resource spans": 1, "spans": 3}`` as upstream's zap line."""
        return (f'Traces {{"otelcol.component.id": "{self.name}", '
                f'"resource spans": {self._resource_count(batch)}, "spans": {len(batch)}}}')

    @staticmethod
    def _kv_pairs(cols: AttrColumns, i: int) -> str:
        return " ".join(f"{k}={v}" for k, v, _ in cols.set_items(i))

    def normal(self, batch: SpanBatch) -> str:
        """One line per span: ``name trace_id span_id key=value ...``."""
        lines = []
        for i in range(len(batch)):
            line = f"{batch.name[i]} {batch.trace_id[i]} {batch.span_id[i]}"
            attrs = self._kv_pairs(batch.attributes, i)
            if attrs:
                line += " " + attrs
            lines.append(line)
        return "\n".join(lines)

    def detailed(self, batch: SpanBatch) -> str:
        """Everything, in the layout of the collector's ``otlptext`` marshaler."""
        b = batch
        out: list[str] = []
        w = out.append

        def attributes(header: str, cols: AttrColumns, i: int, prefix: str = "     ->") -> None:
            items = cols.set_items(i)
            if not items:
                return
            w(f"{header}:")
            for key, text, code in items:
                w(f"{prefix} {key}: {_value(text, code)}")

        def field(label: str, value) -> None:
            w(f"    {label:<15}: {value}")

        groups: dict[int, dict[int, list[int]]] = {}
        for row, (r, s) in enumerate(zip(b.resource_index, b.scope_index)):
            groups.setdefault(r, {}).setdefault(s, []).append(row)
        for rn, (r, scopes) in enumerate(groups.items()):
            w(f"ResourceSpans #{rn}")
            w("Resource SchemaURL: ")
            attributes("Resource attributes", b.resource_attributes, r)
            for sn, (s, rows) in enumerate(scopes.items()):
                w(f"ScopeSpans #{sn}")
                w("ScopeSpans SchemaURL: ")
                w(f"InstrumentationScope {b.scope_name[s]} {b.scope_version[s]}")
                for k, i in enumerate(rows):
                    w(f"Span #{k}")
                    field("Trace ID", b.trace_id[i])
                    field("Parent ID", b.parent_span_id[i])
                    field("ID", b.span_id[i])
                    field("Name", b.name[i])
                    kind = b.kind[i]
                    field("Kind", SPAN_KINDS[kind] if 0 <= kind < len(SPAN_KINDS) else kind)
                    if b.trace_state[i]:
                        field("TraceState", b.trace_state[i])
                    field("Start time", format_timestamp(b.start_ns[i]))
                    field("End time", format_timestamp(b.end_ns[i]))
                    code = b.status_code[i]
                    field("Status code",
                          STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else code)
                    field("Status message", b.status_message[i])
                    w(f"    DroppedAttributesCount: {b.dropped_attributes_count[i]}")
                    attributes("Attributes", b.attributes, i)
                    lo, hi = b.event_offsets[i], b.event_offsets[i + 1]
                    if hi > lo:
                        w("Events:")
                        for n, e in enumerate(range(lo, hi)):
                            w(f"SpanEvent #{n}")
                            w(f"     -> Name: {b.event_name[e]}")
                            w(f"     -> Timestamp: {format_timestamp(b.event_time_ns[e])}")
                            w(f"     -> DroppedAttributesCount: "
                              f"{b.event_dropped_attributes_count[e]}")
                            attributes("     -> Attributes:", b.event_attributes, e,
                                       prefix="          ->")
                    w(f"    DroppedEventsCount: {b.dropped_events_count[i]}")
                    lo, hi = b.link_offsets[i], b.link_offsets[i + 1]
                    if hi > lo:
                        w("Links:")
                        for n, k2 in enumerate(range(lo, hi)):
                            w(f"SpanLink #{n}")
                            w(f"     -> Trace ID: {b.link_trace_id[k2]}")
                            w(f"     -> ID: {b.link_span_id[k2]}")
                            w(f"     -> TraceState: {b.link_trace_state[k2]}")
                            w(f"     -> DroppedAttributesCount: "
                              f"{b.link_dropped_attributes_count[k2]}")
                            attributes("     -> Attributes:", b.link_attributes, k2,
                                       prefix="          ->")
                    w(f"    DroppedLinksCount: {b.dropped_links_count[i]}")
        return "\n".join(out)


def _create(component_id: str, section: Section, context: BuildContext) -> DebugExporter:
    return DebugExporter.from_config(component_id, section, context.telemetry)


FACTORY = Factory("exporter", "debug", _create)
