"""Radar's tests change an account's rules, so each module gets servers of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, new_server
from tests.support.server import Server, drop_pg_database

RULES = "/billfold/api/radar/rules"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"radar-{request.param}")
    instance = new_server(request.param, workdir).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


class Rules:
    """Billfold's own rule endpoints, called with the secret key."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.secret_key}"}
        )

    def call(self, method: str, path: str = "", **data: Any) -> httpx.Response:
        return self.http.request(method, RULES + path, data=data or None)

    def add(self, text: str, **extra: Any) -> dict[str, Any]:
        response = self.call("POST", rule=text, **extra)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def all(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call("GET").json()["data"]
        return data

    def clear(self) -> None:
        for rule in self.all():
            self.call("DELETE", f"/{rule['id']}")


@pytest.fixture
def rules(server: Server) -> Iterator[Rules]:
    manager = Rules(server)
    manager.clear()
    yield manager
    manager.clear()
    manager.http.close()
