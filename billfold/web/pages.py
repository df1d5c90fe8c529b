"""Pages a person sees: the 3D Secure challenge, hosted invoices (and their PDFs), their CSS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from billfold.observability import metrics
from billfold.web import invoices, onboarding, stripe_js, three_d_secure
from billfold.web.dashboard import routes as dashboard
from billfold.wire import openapi

if TYPE_CHECKING:
    from billfold.app import Billfold

STATIC = Path(__file__).parent / "static"


def build(app: Billfold) -> Starlette:
    async def health(request: Request) -> Response:
        # ``pid`` tells which of several API processes answered (billfold serve --workers N).
        return JSONResponse({"status": "ok", "pid": os.getpid(), **app.describe()})

    routes: list[BaseRoute] = [Route("/billfold/health", health)]
    routes.extend(three_d_secure.routes(app))
    routes.extend(invoices.routes(app))
    routes.extend(onboarding.routes(app))
    routes.extend(stripe_js.routes(app))
    routes.extend(dashboard.routes(app))
    routes.extend(metrics.routes(app))
    routes.extend(openapi.routes(app))
    routes.append(Mount("/billfold/static", StaticFiles(directory=STATIC), name="static"))
    return Starlette(routes=routes)
