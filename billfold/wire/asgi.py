"""The ASGI entry point: ``/v1`` and ``/billfold/api`` go to the API pipeline, the rest to web pages."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from billfold.observability import metrics
from billfold.observability.request_log import RequestLog
from billfold.wire.handler import MAX_BODY, ApiRequest, handle

if TYPE_CHECKING:
    from billfold.app import Billfold

# Stripe's API answers browsers too (Stripe.js calls it with a publishable key from any origin).
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-credentials", b"true"),
    (b"access-control-allow-methods", b"GET, POST, HEAD, OPTIONS, DELETE"),
    (b"access-control-expose-headers", b"Request-Id, Stripe-Should-Retry, Idempotent-Replayed"),
    (b"access-control-max-age", b"300"),
]
_PREFLIGHT_HEADERS = (
    b"Authorization, Content-Type, Idempotency-Key, Stripe-Account, Stripe-Version, "
    b"X-Stripe-Client-User-Agent, X-Stripe-Client-Telemetry, User-Agent"
)


class AsgiApp:
    def __init__(self, app: Billfold, web: Any) -> None:
        self.app = app
        self.web = web
        self.limiter = anyio.CapacityLimiter(64)
        self.request_log = RequestLog(app.db)
        self.metrics = metrics.for_app(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        # Billfold's own controls (``/billfold/api/...``) share the API pipeline, off ``/v1``.
        api = path == "/v1" or path.startswith(("/v1/", "/billfold/api/"))
        if scope["type"] != "http" or not api:
            await self.web(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._preflight(scope, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            # Past the limit the handler refuses the request; stop buffering it.
            if not message.get("more_body") or len(body) > MAX_BODY:
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = ApiRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            body=bytes(body),
            headers=headers,
        )
        request.matched = self.app.router.match(request.method, request.path)
        route = request.matched[0]
        if route is not None and not route.write and self.app.db.can_read_now():
            # A read waits on no lock (SQLite's WAL and PostgreSQL's MVCC readers never block):
            # it runs right here, sparing the hop to a worker thread and back and the GIL
            # handoffs between them, which cost more than the read itself.
            response = handle(self.app, request)
        else:
            response = await anyio.to_thread.run_sync(handle, self.app, request, limiter=self.limiter)
        self.request_log.record(request, response)
        self.metrics.observe_request(request, response, time.perf_counter() - request.received)
        raw_headers = [(b"content-type", b"application/json"), *CORS_HEADERS]
        # Latin-1 round-trips whatever bytes a client sent (an echoed Idempotency-Key, say).
        raw_headers.extend(
            (k.lower().encode("latin-1"), v.encode("latin-1", "replace"))
            for k, v in response.headers.items()
        )
        raw_headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _preflight(self, scope: Scope, send: Send) -> None:
        requested = dict(scope["headers"]).get(b"access-control-request-headers")
        headers = [*CORS_HEADERS, (b"access-control-allow-headers", requested or _PREFLIGHT_HEADERS),
                   (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
