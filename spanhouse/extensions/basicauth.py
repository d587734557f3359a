"""``basicauth``: the collector's HTTP Basic authenticator, server side.

Settings as upstream (extension/basicauthextension): ``htpasswd: {file: PATH, inline: TEXT}``
(both may be given; an inline entry wins over the file's for the same user). Entries are
``user:hash``, one a line, in the formats Apache's ``htpasswd`` writes:

- bcrypt, ``$2y$`` / ``$2b$`` / ``$2a$`` (``htpasswd -B``; recommended);
- ``{SHA}`` (base64 SHA-1, ``htpasswd -s``) and ``{SSHA}`` (salted SHA-1);
- anything not starting with ``$`` or ``{``: a plain-text password, as upstream accepts for
  ``inline: ${env:USER}:${env:PASSWORD}``.

Other ``$...$`` formats (``$apr1$`` MD5, ``$5$``/``$6$`` crypt) are refused when the config
is read. Comparisons are constant-time; a user that does not exist costs the same check as
a wrong password. Successful bcrypt checks are remembered (keyed by a keyed hash of the
credentials, never the credentials) so a sender is not charged bcrypt's cost per request.
The htpasswd ``file`` is read by ``start()`` (when ``serve`` starts); ``inline`` is checked
with the config.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading

import bcrypt
from cachetools import LRUCache

from spanhouse.component import BuildContext, Factory
from spanhouse.config.section import Section
from spanhouse.errors import ConfigError

REALM = "spanhouse"
_BCRYPT = (b"$2y$", b"$2b$", b"$2a$")
# Checked against when the user is unknown, so that costs as much as a wrong password.
_DUMMY = bcrypt.hashpw(b"spanhouse-no-such-user", bcrypt.gensalt(rounds=10))


def _check(stored: bytes, password: bytes) -> bool:
    if stored.startswith(_BCRYPT):
        return bcrypt.checkpw(password, stored.replace(b"$2y$", b"$2b$", 1))
    if stored.startswith(b"{SHA}"):
        return hmac.compare_digest(base64.b64encode(hashlib.sha1(password).digest()), stored[5:])
    if stored.startswith(b"{SSHA}"):
        raw = base64.b64decode(stored[6:])
        digest, salt = raw[:20], raw[20:]
        return hmac.compare_digest(hashlib.sha1(password + salt).digest(), digest)
    return hmac.compare_digest(password, stored)


def parse_htpasswd(text: str, where: str) -> dict[str, bytes]:
    """``user -> stored hash`` of an htpasswd text; ``ConfigError`` for a bad line (its
    number is given, never its content)."""
    users: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not stored:
            raise ConfigError(f"{where} line {number}: expected user:password-hash")
        raw = stored.encode()
        if raw.startswith(b"$") and not raw.startswith(_BCRYPT):
            raise ConfigError(f"{where} line {number}: unsupported hash format "
                              f"{stored.split('$')[1][:8]!r}; use bcrypt (htpasswd -B) or "
                              "{SHA}")
        if raw.startswith(b"{SSHA}"):
            try:
                if len(base64.b64decode(raw[6:], validate=True)) <= 20:
                    raise ValueError
            except (binascii.Error, ValueError):
                raise ConfigError(f"{where} line {number}: malformed {{SSHA}} hash") from None
        elif raw.startswith(b"{") and not raw.startswith(b"{SHA}"):
            raise ConfigError(f"{where} line {number}: unsupported hash format; use bcrypt "
                              "(htpasswd -B) or {SHA}")
        users[user] = raw
    return users


class BasicAuth:
    header = "authorization"
    challenge = f'Basic realm="{REALM}", charset="UTF-8"'
    blocking = True

    def __init__(self, name: str, users: dict[str, bytes], path: str = "", key: str = ""):
        self.name = name
        self._users = users
        self._path, self._key_name = path, key
        self._key = os.urandom(32)
        self._verified: LRUCache = LRUCache(maxsize=1024)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Read the htpasswd file (its entries, then the inline ones, which win)."""
        if not self._path:
            return
        try:
            with open(self._path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {self._path!r}: {exc.strerror}", self._key_name) from None
        try:
            users = parse_htpasswd(text, self._path)
        except ConfigError as exc:
            raise ConfigError(str(exc), self._key_name) from None
        if not users and not self._users:
            raise ConfigError(f"{self._path!r} holds no user", self._key_name)
        self._users = {**users, **self._users}

    def verify(self, value: str | None) -> bool:
        if not value:
            return False
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        if not sep:
            return False
        fingerprint = hmac.new(self._key, decoded, hashlib.sha256).digest()
        with self._lock:
            if fingerprint in self._verified:
                return True
        stored = self._users.get(user.decode("utf-8", "replace"))
        ok = _check(stored if stored is not None else _DUMMY, password) and stored is not None
        if ok:
            with self._lock:
                self._verified[fingerprint] = True
        return ok

    @property
    def describe(self) -> str:
        if self._path:
            return f"users from {self._path}"
        return f"{len(self._users)} user{'s' if len(self._users) != 1 else ''}"


def _create(component_id: str, section: Section, context: BuildContext) -> BasicAuth:
    s = section.allow("htpasswd", "client_auth")
    if s.raw("client_auth") is not None:
        raise s.error("client_auth", "is not supported by spanhouse: it is the exporters' side; "
                      "put the credentials in the exporter's headers (authorization: Basic ...)")
    htpasswd = s.section("htpasswd").allow("file", "inline")
    path = htpasswd.string("file", "")
    try:
        users = parse_htpasswd(htpasswd.string("inline", ""), "inline")
    except ConfigError as exc:
        raise htpasswd.error("inline", str(exc)) from None
    if not users and not path:
        raise htpasswd.error(None, "no user: set htpasswd.file or htpasswd.inline (user:hash)")
    return BasicAuth(component_id, users, path, htpasswd.key_of("file"))


FACTORY = Factory("extension", "basicauth", _create)
