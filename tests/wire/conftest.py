"""Helpers for the wire tests: raw HTTP beside the SDK, and a look into the server's database."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from billfold.store.db import normalize_url
from tests.support.server import Server


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    """Plain HTTP with the secret key, for what the SDK never sends (raw bodies, no version)."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.secret_key}"}) as c:
        yield c


@pytest.fixture
def db(server: Server) -> Iterator[sa.Engine]:
    """The server's own database, to count rows the API does not list (events, keys)."""
    engine = sa.create_engine(normalize_url(server.database_url), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def email() -> str:
    """An address no other test uses, so a list filtered by it shows only this test's customers."""
    return f"wire-{secrets.token_hex(6)}@example.com"


def count_events(engine: sa.Engine, event_type: str, object_id: str) -> int:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT data FROM objects WHERE object = 'event' AND data LIKE :needle"),
            {"needle": f'%"{object_id}"%'},
        ).fetchall()
    return sum(1 for row in rows if f'"type":"{event_type}"' in row.data)


def customers_with(client: stripe.StripeClient, email: str) -> list[str]:
    return [c.id for c in client.v1.customers.list({"email": email, "limit": 100}).auto_paging_iter()]


def live_secret_key(server: Server) -> str:
    found = re.search(r"\bsk_live_\w+", server.cli("keys"))
    assert found, "billfold keys printed no live secret key"
    return found.group(0)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` hash of a Stripe error response, after checking the common shape."""
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] in {
        "invalid_request_error", "idempotency_error", "card_error", "api_error", "rate_limit_error",
    }
    return error
