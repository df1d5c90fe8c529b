"""Billfold's Stripe.js at ``/v3/``: a page swaps ``https://js.stripe.com/v3/`` for it.

The script finds the API from its own address, so it is served from Billfold's origin to pages on
any origin: hence the CORS header, and a short public cache with an ETag (a new Billfold version
is picked up within minutes, and revalidation is a cheap 304).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from billfold.app import Billfold

SCRIPT = Path(__file__).parent / "static" / "v3" / "stripe.js"
CACHE_CONTROL = "public, max-age=300"


@lru_cache(maxsize=1)
def _script(mtime_ns: int) -> tuple[bytes, str]:
    """The script and its ETag, read again only when the file changes."""
    body = SCRIPT.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _headers(etag: str) -> dict[str, str]:
    return {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }


async def stripe_js(request: Request) -> Response:
    body, etag = _script(SCRIPT.stat().st_mtime_ns)
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=_headers(etag))
    return Response(
        body if request.method == "GET" else b"",
        media_type="application/javascript; charset=utf-8",
        headers={**_headers(etag), "Content-Length": str(len(body))},
    )


def routes(app: Billfold) -> list[BaseRoute]:
    del app  # the script is the same for every account; keys come from the page
    return [
        Route("/v3/", stripe_js, methods=["GET", "HEAD"]),
        Route("/v3", stripe_js, methods=["GET", "HEAD"]),
    ]
