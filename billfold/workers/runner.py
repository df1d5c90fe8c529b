"""Background workers that run inside ``billfold serve`` (or ``billfold worker``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from billfold.app import Billfold


class Worker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def start_workers(app: Billfold) -> list[Worker]:
    workers: list[Worker] = []
    try:
        from billfold.workers.webhooks import DeliveryWorker
    except ImportError:
        return workers
    delivery = DeliveryWorker(app)
    delivery.start()
    workers.append(delivery)
    return workers


def stop_event() -> threading.Event:
    return threading.Event()
