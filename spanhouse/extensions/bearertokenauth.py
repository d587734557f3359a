"""``bearertokenauth``: the collector's bearer token authenticator, server side.

Settings as upstream (extension/bearertokenauthextension): ``token`` (or ``tokens``, a list)
or ``filename`` (a file of tokens, one a line, re-read when it changes), ``scheme`` (default
``Bearer``; empty: the header holds the bare token) and ``header`` (default
``Authorization``). A request is let in when that header is ``<scheme> <token>`` for one of
the tokens, compared in constant time. The token file is read by ``start()`` (when ``serve``
starts; ``config check`` does not need it), then looked at every second.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError

log = logging.getLogger(__name__)
RECHECK_S = 1.0   # how often the token file's modification time is looked at


class BearerTokenAuth:
    blocking = False
    challenge = None

    def __init__(self, name: str, tokens: list[str], scheme: str, header: str,
                 filename: str = "", key: str = ""):
        self.name = name
        self.scheme = scheme
        self.header = header.lower()
        self.filename = filename
        self._lock = threading.Lock()
        self._expected: tuple[bytes, ...] = self._encode(tokens)
        self._stamp: tuple | None = None
        self._checked = 0.0
        self.key = key

    def start(self) -> None:
        """Read the token file: ``ConfigError`` if it cannot be read or holds no token."""
        if not self.filename:
            return
        try:
            with open(self.filename, encoding="utf-8") as f:
                if not any(line.strip() for line in f):
                    raise ConfigError(f"{self.filename!r} holds no token", self.key)
        except OSError as exc:
            raise ConfigError(f"cannot read {self.filename!r}: {exc.strerror}", self.key) from None
        self._reload(force=True)

    def _encode(self, tokens: list[str]) -> tuple[bytes, ...]:
        prefix = f"{self.scheme} " if self.scheme else ""
        return tuple((prefix + t).encode() for t in tokens if t)

    def _reload(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < RECHECK_S:
            return
        with self._lock:
            self._checked = now
            try:
                st = os.stat(self.filename)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                if stamp == self._stamp:
                    return
                with open(self.filename, encoding="utf-8") as f:
                    tokens = [line.strip() for line in f if line.strip()]
            except OSError as exc:
                log.warning("%s: cannot read the token file %s: %s; keeping the tokens read "
                            "before", self.name, self.filename, exc.strerror)
                return
            self._expected = self._encode(tokens)
            if self._stamp is not None:
                log.info("%s: token file %s changed: tokens reloaded", self.name, self.filename)
            self._stamp = stamp

    def verify(self, value: str | None) -> bool:
        if self.filename:
            self._reload()
        given = (value or "").strip().encode()
        ok = False
        for expected in self._expected:  # every token compared: no early exit
            ok |= hmac.compare_digest(given, expected)
        return ok and bool(value)

    @property
    def describe(self) -> str:
        source = f"tokens from {self.filename}" if self.filename else "token set"
        return f"{source}, header {self.header}"


def _create(component_id: str, section: Section, context: BuildContext) -> BearerTokenAuth:
    s = section.allow("token", "tokens", "filename", "scheme", "header")
    tokens = [s.string("token")] if s.raw("token") is not None else []
    tokens += s.strings("tokens", [])
    filename = s.string("filename", "")
    if not tokens and not filename:
        raise s.error(None, "needs token, tokens or filename")
    if tokens and filename:
        raise s.error("filename", "set either a token or a filename, not both")
    if any(not t.strip() or t != t.strip() for t in tokens):
        raise s.error("token" if s.has("token") else "tokens",
                      "a token must not be empty nor start or end with a space")
    scheme = s.string("scheme", "Bearer")
    header = s.string("header", "Authorization")
    return BearerTokenAuth(component_id, tokens, scheme, header, filename, s.key_of("filename"))


FACTORY = Factory("extension", "bearertokenauth", _create)
