"""The ASGI entry point: ``/v1`` goes to the API pipeline, everything else to the web pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from billfold.wire.handler import ApiRequest, handle

if TYPE_CHECKING:
    from billfold.app import Billfold


class AsgiApp:
    def __init__(self, app: Billfold, web: Any) -> None:
        self.app = app
        self.web = web
        self.limiter = anyio.CapacityLimiter(64)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.web(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = ApiRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            body=bytes(body),
            headers=headers,
        )
        response = await anyio.to_thread.run_sync(handle, self.app, request, limiter=self.limiter)
        raw_headers = [(b"content-type", b"application/json")]
        raw_headers.extend((k.lower().encode(), v.encode()) for k, v in response.headers.items())
        raw_headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": response.body})
