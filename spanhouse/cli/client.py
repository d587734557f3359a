"""The HTTP client of the query API (``/api/v1``), for the commands and the demo.

``fetch`` returns the API's whole answer (``data`` and ``query``) or raises a typed error, never
exits: the API's own errors come back as the class its status stands for in
``spanhouse.errors.TRANSLATIONS`` (400: ``InvalidInput``, 404: ``NotFound``, 503:
``StoreError``) with the API's message; an unreachable or silent server is a ``StoreError``
(a failure at run time, as a store that is down), a ``--server`` that is no http(s) URL an
``InvalidInput``, a 401 ``Unauthenticated`` (exit 2: give ``--token`` or ``--user``).

Credentials: ``--token`` / ``SPANHOUSE_TOKEN`` (``Authorization: Bearer ...``), or ``--user`` /
``SPANHOUSE_USER`` with ``SPANHOUSE_PASSWORD`` (Basic); ``--ca-file`` / ``SPANHOUSE_CA_FILE``
for an https:// server with a private CA. They are kept by the command's options in the click
context (``CREDENTIALS``) and never printed.
"""

from __future__ import annotations

import os
import ssl

import click
import httpx

from spanhouse.errors import TRANSLATIONS, InvalidInput, SpanhouseError, StoreError, Unauthenticated

DEFAULT_SERVER = "http://127.0.0.1:16686"
TIMEOUT_S = 30.0
CREDENTIALS = "spanhouse.credentials"   # the click context's meta key


class UnexpectedAnswer(SpanhouseError):
    """The server answered, but not as the Spanhouse API does: another service at that URL, or
    an error status no typed error stands for (the API's 500: a bug, see the server's log)."""


def server_url(server: str | None) -> str:
    """``--server`` (or ``SPANHOUSE_SERVER``), else ``DEFAULT_SERVER``, without a trailing /."""
    return (server or DEFAULT_SERVER).rstrip("/")


def error_for_status(status: int) -> type[SpanhouseError]:
    """The typed error an HTTP status of the API stands for (the first with that status)."""
    for cls, translation in TRANSLATIONS.items():
        if translation.http_status == status:
            return cls
    return UnexpectedAnswer


def _credentials() -> tuple[dict[str, str], object, httpx.BasicAuth | None]:
    """(headers, verify, auth) from the running command's ``--token``/``--user``/``--ca-file``."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(CREDENTIALS, {}) if ctx is not None else {}
    headers = {"Authorization": f"Bearer {given['token']}"} if given.get("token") else {}
    auth = None
    if given.get("user") and not headers:
        auth = httpx.BasicAuth(given["user"], os.environ.get("SPANHOUSE_PASSWORD", ""))
    verify: object = True
    if given.get("ca_file"):
        try:
            verify = ssl.create_default_context(cafile=given["ca_file"])
        except (OSError, ssl.SSLError) as exc:
            raise InvalidInput(f"--ca-file {given['ca_file']!r}: cannot load it: {exc}") from None
    return headers, verify, auth


def get_raw(server: str | None, path: str,
            params: list[tuple[str, str]] | None = None) -> httpx.Response:
    """GET ``path`` of the server with the running command's credentials: the response, or a
    typed error for what is not an answer (a bad ``--server``, an unreachable or silent server,
    credentials missing or refused)."""
    base = server_url(server)
    headers, verify, auth = _credentials()
    try:
        with httpx.Client(verify=verify, timeout=TIMEOUT_S) as client:
            response = client.get(base + path, params=params or [], headers=headers, auth=auth)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise InvalidInput(f"--server: {base!r} is not an http(s) URL such as "
                           f"{DEFAULT_SERVER}") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise StoreError(f'cannot reach the server at {base} (is "spanhouse serve" running? '
                         "set --server or SPANHOUSE_SERVER)") from exc
    except httpx.TimeoutException as exc:
        raise StoreError(f"the server at {base} did not answer within {TIMEOUT_S:g} s") from exc
    except httpx.HTTPError as exc:
        raise StoreError(f"cannot talk to the server at {base}: {exc}") from exc
    if response.status_code == 401:
        raise Unauthenticated(f"the server at {base} requires credentials: set SPANHOUSE_TOKEN "
                              "(or --token), or SPANHOUSE_USER and SPANHOUSE_PASSWORD"
                              if not (headers or auth) else
                              f"the server at {base} refused the credentials given")
    return response


def json_body(response: httpx.Response) -> object:
    """The response's JSON, or None when it is not JSON (a proxy's page, Tempo's plain text)."""
    try:
        return response.json()
    except ValueError:
        return None


def fetch(server: str | None, path: str, params: list[tuple[str, str]] | None = None) -> dict:
    """GET ``/api/v1/...`` and return the whole answer (``data`` and ``query``)."""
    base = server_url(server)
    response = get_raw(server, path, params)
    body = json_body(response)
    if response.status_code == 200 and isinstance(body, dict) and "data" in body:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        raise error_for_status(response.status_code)(error["message"])
    raise UnexpectedAnswer(f"unexpected answer from {base}{path} (HTTP {response.status_code}); "
                           "is it a Spanhouse server?")
