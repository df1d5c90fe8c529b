"""Dispute tests compare balance totals, so each module gets servers of its own: background work
that other tests leave on the shared server (renewals, retries) would move the balance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, new_server
from tests.support.server import Server, drop_pg_database


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = new_server(request.param, tmp_path_factory.mktemp(f"disputes-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)
