"""The collector's authenticator extensions, and what puts them (and TLS, CORS) in front of
every listener.

- ``auth``: the ``Authenticator`` contract (a refusal is ``spanhouse.errors.Unauthenticated``);
- ``bearertokenauth`` and ``basicauth``: the two extensions (components of kind
  ``extension``, listed in ``spanhouse.components``);
- ``http_guard``: the ASGI middleware of the HTTP listeners (CORS, then authentication);
- ``grpc_guard``: the gRPC server interceptor (UNAUTHENTICATED);
- ``tls``: server TLS for uvicorn (an ``ssl.SSLContext``) and grpcio (server credentials),
  with ``reload_interval``.
"""
