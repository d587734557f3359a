"""Go regular expressions (RE2) on Python's ``re``.

The collector matches with Go's ``regexp`` (OTTL's ``IsMatch``, and the ``string_attribute``
sampling policy); the few spellings Python writes differently are translated here, the rest of
RE2's syntax that differs (e.g. ``[[:alpha:]]``) is not."""

from __future__ import annotations

import re


def go_regex(pattern: str) -> str:
    """The few RE2 spellings Python's ``re`` writes differently (``\\z`` end of text)."""
    return _RE2_END.sub(lambda m: m.group(1) + r"\Z", pattern)


_RE2_END = re.compile(r"(?<!\\)((?:\\\\)*)\\z")
