"""Pages a person sees: the 3D Secure challenge and, later, hosted invoices and the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from billfold.app import Billfold


def build(app: Billfold) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **app.describe()})

    routes = [Route("/billfold/health", health)]
    return Starlette(routes=routes)
