"""Pages a person sees: the 3D Secure challenge and, later, hosted invoices and the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from billfold.web import three_d_secure

if TYPE_CHECKING:
    from billfold.app import Billfold


def build(app: Billfold) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **app.describe()})

    routes: list[BaseRoute] = [Route("/billfold/health", health)]
    routes.extend(three_d_secure.routes(app))
    return Starlette(routes=routes)
