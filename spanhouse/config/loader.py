"""Loading an OpenTelemetry Collector YAML file, with ``${env:VAR}`` and ``${env:VAR:-default}``.

Errors become ``ConfigError`` with one line: the file, the line when known, what is wrong and
the fix. Never a traceback.
"""

from __future__ import annotations

import os
import re

from spanhouse.errors import ConfigError

_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute_env(text: str, path: str) -> str:
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is None:
                line = text.count("\n", 0, match.start()) + 1
                raise ConfigError(
                    f"{path}:{line}: environment variable {name} is not set; "
                    f"set it or write ${{env:{name}:-default}}")
            return default
        return value

    return _ENV.sub(replace, text)


_GO_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_go_duration(value: str) -> float:
    """Seconds in a Go duration string such as ``72h``, ``1m30s`` or ``250ms``."""
    text = str(value).strip()
    if text == "0":  # Go's time.ParseDuration accepts a bare zero
        return 0.0
    if not text or not _GO_DURATION.match(text):
        raise ValueError(f"{value!r} is not a duration like 72h, 30s or 250ms")
    return sum(float(n) * _UNIT_SECONDS[u]
               for n, u in re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text))
