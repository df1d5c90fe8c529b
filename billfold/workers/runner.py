"""Background workers that run inside ``billfold serve``, or alone as ``billfold worker``."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.config import Settings

log = logging.getLogger("billfold.workers")


class Worker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def start_workers(app: Billfold) -> list[Worker]:
    """Webhook delivery and scheduled jobs, both claiming rows so several processes may run them."""
    from billfold.workers.jobs import JobWorker
    from billfold.workers.webhooks import DeliveryWorker

    workers: list[Worker] = [DeliveryWorker(app), JobWorker(app)]
    for worker in workers:
        worker.start()
    return workers


def stop_workers(workers: list[Worker]) -> None:
    for worker in reversed(workers):
        worker.stop()


def run(settings: Settings) -> int:
    """``billfold worker``: deliver webhooks and run scheduled jobs until told to stop."""
    from billfold.app import Billfold

    app = Billfold(settings)
    app.start()
    app.db.start_checkpoints()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workers = start_workers(app)
    log.info("delivering webhooks and running jobs from %s", app.db.dialect)
    stop.wait()
    stop_workers(workers)
    app.db.dispose()
    return 0
