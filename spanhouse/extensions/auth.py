"""The authenticator contract: what a listener asks of an ``auth.authenticator`` extension.

An authenticator looks at one request header (``header``, lower case) and says yes or no.
It compares secrets in constant time (``hmac.compare_digest``, bcrypt's own check) and never
puts a secret in a message, a log line or its ``describe``.
"""

from __future__ import annotations

from typing import Protocol



class Authenticator(Protocol):
    name: str                 # the extension id, e.g. "bearertokenauth/ingest"
    header: str               # the request header it reads, lower case
    challenge: str | None     # the WWW-Authenticate value of a 401 (None: no challenge)
    blocking: bool            # True: ``verify`` may take milliseconds (run it off the loop)

    def start(self) -> None:
        """Read the files it names (``ConfigError`` with the key): when ``serve`` starts."""
        ...

    def verify(self, value: str | None) -> bool:
        """Whether ``value`` (the header's value, None when absent) is a valid credential."""
        ...

    @property
    def describe(self) -> str: ...


MESSAGE = "authentication required: missing or invalid credentials"
