"""Clusters of real Billfold processes for the crash tests, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.durability.cluster import Cluster
from tests.support.server import create_pg_database, drop_pg_database

MakeCluster = Callable[..., Cluster]


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[MakeCluster]:
    """Builds clusters on a fresh database of the given backend; stops and drops them afterwards."""
    made: list[tuple[Cluster, str]] = []

    def make(backend: str, api_processes: int = 1, run_worker: bool = True) -> Cluster:
        url = str(tmp_path / "billfold.db") if backend == "sqlite" else create_pg_database()
        cluster = Cluster(url, tmp_path, api_processes=api_processes, run_worker=run_worker)
        made.append((cluster, backend))
        return cluster

    yield make
    for cluster, backend in made:
        cluster.stop()
        if backend == "postgres":
            drop_pg_database(cluster.database_url)
