"""OTTL paths of the ``span`` and ``spanevent`` contexts (upstream ``pkg/ottl/contexts/ottlspan``
and ``ottlspanevent``), resolved once, when a condition is compiled, to a getter over the
batch columns. A path outside the supported ones is refused with the list of those that are."""

from __future__ import annotations

from typing import Any, Callable

from spanhouse.model.batch import AttrColumns
from spanhouse.ottl.context import Ctx, Getter
from spanhouse.ottl.errors import OTTLUnsupported
from spanhouse.ottl.values import typed_value


def _attr_getter(cols_of: Callable[[Ctx], tuple[AttrColumns, int]], key: str) -> Getter:
    def get(ctx: Ctx) -> Any:
        cols, owner = cols_of(ctx)
        return typed_value(cols.lookup(owner, key))
    return get


def _span_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    return ctx[0].attributes, ctx[1]


def _resource_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    batch = ctx[0]
    return batch.resource_attributes, batch.resource_index[ctx[1]]


def _event_attrs(ctx: Ctx) -> tuple[AttrColumns, int]:
    return ctx[0].event_attributes, ctx[2]


def _col(name: str) -> Getter:
    return lambda ctx: getattr(ctx[0], name)[ctx[1]]


def _event_col(name: str) -> Getter:
    return lambda ctx: getattr(ctx[0], name)[ctx[2]]


SPAN_FIELDS: dict[str, Getter] = {
    "name": _col("name"),
    "kind": _col("kind"),
    "status.code": _col("status_code"),
    "status.message": _col("status_message"),
    "trace_state": _col("trace_state"),
    "flags": _col("flags"),
    "start_time_unix_nano": _col("start_ns"),
    "end_time_unix_nano": _col("end_ns"),
    "trace_id.string": _col("trace_id"),
    "span_id.string": _col("span_id"),
    "parent_span_id.string": _col("parent_span_id"),
    "dropped_attributes_count": _col("dropped_attributes_count"),
    "dropped_events_count": _col("dropped_events_count"),
    "dropped_links_count": _col("dropped_links_count"),
}
EVENT_FIELDS: dict[str, Getter] = {
    "name": _event_col("event_name"),
    "time_unix_nano": _event_col("event_time_ns"),
    "dropped_attributes_count": _event_col("event_dropped_attributes_count"),
}
SCOPE_FIELDS: dict[str, Getter] = {
    "instrumentation_scope.name": lambda ctx: ctx[0].scope_name[ctx[0].scope_index[ctx[1]]],
    "instrumentation_scope.version": lambda ctx: ctx[0].scope_version[ctx[0].scope_index[ctx[1]]],
}


def supported_paths(context: str) -> list[str]:
    common = ['resource.attributes["key"]', *SCOPE_FIELDS]
    if context == "span":
        return [*SPAN_FIELDS, 'attributes["key"]', *common]
    return [*EVENT_FIELDS, 'attributes["key"]',
            *(f"span.{p}" for p in SPAN_FIELDS), 'span.attributes["key"]', *common]


def resolve_path(context: str, parts: list[str], key: str | None) -> Getter:
    """A getter for a dotted path (``parts``) with an optional ``["key"]`` index."""
    dotted = ".".join(parts)
    shown = dotted + (f'["{key}"]' if key is not None else "")
    own_prefix = "span." if context == "span" else "spanevent."
    if dotted.startswith(own_prefix):              # explicit context prefix, e.g. span.name
        dotted = dotted[len(own_prefix):]
    if dotted == "resource.attributes" and key is not None:
        return _attr_getter(_resource_attrs, key)
    if dotted in SCOPE_FIELDS and key is None:
        return SCOPE_FIELDS[dotted]
    if context == "span":
        if dotted == "attributes" and key is not None:
            return _attr_getter(_span_attrs, key)
        if dotted in SPAN_FIELDS and key is None:
            return SPAN_FIELDS[dotted]
    else:
        if dotted == "attributes" and key is not None:
            return _attr_getter(_event_attrs, key)
        if dotted in EVENT_FIELDS and key is None:
            return EVENT_FIELDS[dotted]
        if dotted.startswith("span."):
            inner = dotted[len("span."):]
            if inner == "attributes" and key is not None:
                return _attr_getter(_span_attrs, key)
            if inner in SPAN_FIELDS and key is None:
                return SPAN_FIELDS[inner]
    if dotted in ("attributes", "resource.attributes", "span.attributes") and key is None:
        raise OTTLUnsupported(f'path {shown} needs a key, e.g. {dotted}["http.method"]')
    hint = ""
    if dotted == "duration":
        hint = " (write end_time_unix_nano - start_time_unix_nano, in nanoseconds)"
    raise OTTLUnsupported(
        f"path {shown} is not supported in the {context} context{hint}; "
        f"supported paths: {', '.join(supported_paths(context))}")
