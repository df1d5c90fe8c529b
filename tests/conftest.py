"""Every API test runs against real Billfold servers, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from tests.support.server import Server, create_pg_database, drop_pg_database

BACKENDS = ["sqlite", "postgres"]


def new_server(backend: str, workdir: Path, **env: str) -> Server:
    if backend == "sqlite":
        database = str(workdir / f"billfold-{len(list(workdir.glob('*.db')))}.db")
    else:
        database = create_pg_database()
    return Server(backend=backend, database_url=database, workdir=workdir, env=env)


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"billfold-{request.param}")
    instance = new_server(request.param, workdir).start()
    # Renewal invoices are charged at once here, so renewal tests need not wait out Stripe's hour
    # of draft time; tests/billing/test_saas_scenarios.py checks that hour on a server of its own.
    instance.cli("settings", "set", "renewal_invoice_delay=0")
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


@pytest.fixture
def client(server: Server) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.secret_key,
        base_addresses={"api": server.url},
        max_network_retries=0,
    )


@pytest.fixture
def public_client(server: Server) -> stripe.StripeClient:
    return stripe.StripeClient(server.publishable_key, base_addresses={"api": server.url})


@pytest.fixture
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that stop, kill or reconfigure it (indirectly parametrized)."""
    backend = getattr(request, "param", "sqlite")
    instance = new_server(backend, tmp_path)
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)
