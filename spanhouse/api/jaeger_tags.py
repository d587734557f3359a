"""Tag filters of Jaeger's query APIs -> ``SearchQuery`` attribute filters and status.

The classic API takes ``tag=key:value`` (repeatable) and ``tags=<JSON object of strings>``
(repeatable; ``parseTags`` in jaegertracing/jaeger ``query_parser.go``); api_v3 takes
``query.attributes=<JSON object of strings>``. Both end in ``tags_to_filters``:

- *Spanhouse*: the tags Jaeger's translator derives from the OTLP status (``jaeger_json``) are
  mapped back to ``SearchQuery.status``: ``error=true`` -> ``"error"``,
  ``otel.status_code=ERROR``/``OK`` -> ``"error"``/``"ok"`` (the store keeps the status in its
  own column, not as attributes);
- *Spanhouse*: at most ``MAX_TAGS`` tags; keys and values follow the free-text policy of every
  query API (``spanhouse.api.freetext``): a key must not be empty; quotes and SQL are data.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from spanhouse.api import freetext
from spanhouse.api.jaeger_json import STATUS_ERROR, STATUS_OK, TAG_ERROR, TAG_STATUS_CODE
from spanhouse.api.jaeger_params import parse_error
from spanhouse.errors import InvalidInput
from spanhouse.query.model import AttributeFilter

TAG, TAGS = "tag", "tags"
MAX_TAGS = 64

_STATUS_TAGS = {(TAG_ERROR, "true"): "error", (TAG_STATUS_CODE, STATUS_ERROR): "error",
                (TAG_STATUS_CODE, STATUS_OK): "ok"}


def _go_json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_string_map(text: str) -> dict[str, str]:
    """``json.Unmarshal`` into ``map[string]string`` (``null`` is an empty map), with Go's
    messages for type mismatches; syntax errors carry Python's description."""
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        raise ValueError(f"json: cannot unmarshal {_go_json_type(decoded)} into Go value of "
                         "type map[string]string")
    out = {}
    for key, value in decoded.items():
        if value is None:   # Go leaves "" for a null element
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"json: cannot unmarshal {_go_json_type(value)} into Go value of "
                             "type string")
        out[key] = value
    return out


def parse_tags(simple: Sequence[str], json_tags: Sequence[str]) -> dict[str, str]:
    """``parseTags``: ``tag=k:v`` (split at the first ``:``), then each ``tags`` JSON map."""
    tags: dict[str, str] = {}
    for tag in simple:
        key, sep, value = tag.partition(":")
        if not sep:
            raise InvalidInput(
                f"malformed 'tag' parameter, expecting key:value, received: {tag}")
        tags[key] = value
    for text in json_tags:
        try:
            tags.update(parse_string_map(text))
        except ValueError as exc:
            raise InvalidInput(
                f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
    return tags


def tags_to_filters(tags: Mapping[str, str], param: str = TAGS
                    ) -> tuple[tuple[AttributeFilter, ...], str | None]:
    """Tags -> (``key == value`` filters, status); ``param`` names the parameter in errors."""
    if len(tags) > MAX_TAGS:
        raise parse_error(param, f"more than {MAX_TAGS} tags")
    filters, status = [], None
    for key, value in tags.items():
        try:
            freetext.check_key(key, noun="tag key")
            freetext.check_value(value)
        except ValueError as exc:
            raise parse_error(param, exc) from None
        mapped = _STATUS_TAGS.get((key, value))
        if mapped:
            if status and status != mapped:
                raise InvalidInput(f"tags ask for both status {status!r} and {mapped!r}")
            status = mapped
            continue
        filters.append(AttributeFilter(key=key, value=value, op="eq"))
    return tuple(filters), status
