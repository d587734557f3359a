"""The gRPC listener's authentication: a server interceptor that answers UNAUTHENTICATED,
before the method runs, to a call whose metadata carries no valid credential (the header
the authenticator reads, e.g. ``authorization``, as the OTel SDK sends its ``headers``)."""

from __future__ import annotations

import asyncio
from typing import Callable

import grpc

from spanhouse.extensions.auth import MESSAGE, Authenticator


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticator: Authenticator,
                 on_refused: Callable[[str], None] | None = None):
        self.authenticator = authenticator
        self.on_refused = on_refused or (lambda reason: None)

        async def deny(request, context: grpc.aio.ServicerContext):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, MESSAGE)

        # Raw bytes in (nothing decoded for a refused caller).
        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    async def intercept_service(self, continuation, handler_call_details):
        value = None
        for key, item in handler_call_details.invocation_metadata or ():
            if key == self.authenticator.header:
                value = item if isinstance(item, str) else None
                break
        if self.authenticator.blocking and value:
            ok = await asyncio.get_running_loop().run_in_executor(
                None, self.authenticator.verify, value)
        else:
            ok = self.authenticator.verify(value)
        if ok:
            return await continuation(handler_call_details)
        self.on_refused("unauthenticated")
        return self._deny
