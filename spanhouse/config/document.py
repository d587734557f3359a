"""A loaded config file: its data, and the line of every key, for one-line errors.

``ConfigDocument.locate(exc)`` turns a ``ConfigError`` that carries a dotted ``key`` into the
message users see, ``FILE:LINE: KEY: problem; fix``, with ``path`` and ``line`` set on it.
The parsed collector config keeps its document, so an error found later (when a component's
factory reads its settings) is located the same way, without reading the file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from spanhouse.config.env import substitute_env
from spanhouse.errors import ConfigError


@dataclass
class ConfigDocument:
    path: str
    data: dict
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str | None) -> int | None:
        """The line of ``key``, or of its nearest parent that has one."""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    def locate(self, exc: ConfigError) -> ConfigError:
        """The same error, prefixed with the file, the line and the key (an error that is
        located already comes back as it is)."""
        if exc.path is not None:
            return exc
        key = exc.key
        line = self.line_of(key)
        where = f"{self.path}:{line}" if line else self.path
        text = f"{where}: {key}: {exc}" if key else f"{where}: {exc}"
        return ConfigError(text, key, path=self.path, line=line)


def load_document(path: str) -> ConfigDocument:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}",
                          path=path) from None
    text = substitute_env(text, path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        where = f"{path}:{line}" if line else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}", path=path, line=line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with receivers, processors, "
                          "exporters and service", path=path)
    lines: dict[str, int] = {}
    if node is not None:
        _index(node, "", lines)
    return ConfigDocument(path, data, lines)


def _index(node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _index(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = f"{prefix}[{i}]"
            lines[key] = item.start_mark.line + 1
            _index(item, key, lines)
