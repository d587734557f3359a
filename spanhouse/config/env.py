"""``${env:VAR}`` and ``${env:VAR:-default}`` in a collector config file, substituted before
the YAML is parsed, as the collector's env provider does.

A variable that is not set and has no default is a ``ConfigError`` naming the file, the line
and the fix. Never a traceback.
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
                    f"set it or write ${{env:{name}:-default}}", path=path, line=line)
            return default
        return value

    return _ENV.sub(replace, text)
