"""Running Billfold: the ASGI app, the background workers, and uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from billfold.app import Billfold
from billfold.config import Settings
from billfold.web.pages import build
from billfold.wire.asgi import AsgiApp

log = logging.getLogger("billfold")


def asgi_app(app: Billfold) -> AsgiApp:
    return AsgiApp(app, build(app))


def serve(settings: Settings) -> None:
    app = Billfold(settings)
    app.start()
    print_keys(app)
    workers = []
    if settings.run_worker:
        from billfold.workers.runner import start_workers

        workers = start_workers(app)
    try:
        uvicorn.run(
            asgi_app(app),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        for worker in workers:
            worker.stop()


def print_keys(app: Billfold) -> None:
    if app.created_platform:
        print(f"Created platform account {app.platform_account}.")
    print(f"Billfold on {app.settings.public_url} ({app.db.dialect}); account {app.platform_account}")
    for key in app.platform_keys:
        mode = "live" if key.livemode else "test"
        print(f"  {key.kind:<12} {mode:<4} {key.secret}")
    print(flush=True)
