"""Billfold in this process, for failures and internals a server over HTTP cannot show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from billfold.app import Billfold
from billfold.clock import Clock
from billfold.config import Settings
from tests.support.server import create_pg_database, drop_pg_database


@contextmanager
def billfold_in_process(backend: str, workdir: Path, clock: Clock | None = None) -> Iterator[Billfold]:
    """A started app on a fresh SQLite file or PostgreSQL database, dropped afterwards."""
    url = str(workdir / "in-process.db") if backend == "sqlite" else create_pg_database()
    instance = Billfold(Settings(database_url=url), clock=clock)
    instance.start()
    try:
        yield instance
    finally:
        instance.db.dispose()
        if backend == "postgres":
            drop_pg_database(url)
