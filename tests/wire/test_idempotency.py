"""Idempotency keys: one effect per key, replays marked, mismatches refused, races settled."""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
import sqlalchemy as sa
import stripe

from tests.support.server import Server
from tests.wire.conftest import count_events, customers_with, error_of, live_secret_key


def new_key() -> str:
    return f"idem-{secrets.token_hex(8)}"


def test_same_key_same_params_replays_the_first_response(client: stripe.StripeClient, db: sa.Engine,
                                                         email: str) -> None:
    key = new_key()
    first = client.v1.customers.create({"email": email, "metadata": {"n": "1"}}, {"idempotency_key": key})
    again = client.v1.customers.create({"email": email, "metadata": {"n": "1"}}, {"idempotency_key": key})
    assert again.id == first.id
    assert again.to_dict() == first.to_dict()
    assert first.last_response is not None and again.last_response is not None
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert again.last_response.headers["Idempotency-Key"] == key
    assert again.last_response.body == first.last_response.body
    assert customers_with(client, email) == [first.id]
    assert count_events(db, "customer.created", first.id) == 1


def test_same_key_different_params_is_an_idempotency_error(client: stripe.StripeClient, email: str) -> None:
    key = new_key()
    first = client.v1.customers.create({"email": email}, {"idempotency_key": key})
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.customers.create({"email": email, "name": "Other"}, {"idempotency_key": key})
    assert raised.value.http_status == 400
    assert key in str(raised.value.user_message)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.update(first.id, {"name": "Other"}, {"idempotency_key": key})
    assert customers_with(client, email) == [first.id]
    assert client.v1.customers.retrieve(first.id).to_dict().get("name") is None


def test_a_validation_error_is_not_remembered(client: stripe.StripeClient, email: str) -> None:
    key = new_key()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": email, "balance": "x"}, {"idempotency_key": key})  # type: ignore[arg-type]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": email, "expand": ["email"]}, {"idempotency_key": key})
    corrected = client.v1.customers.create({"email": email}, {"idempotency_key": key})
    assert customers_with(client, email) == [corrected.id]


def test_an_error_from_the_endpoint_is_remembered(http: httpx.Client) -> None:
    key = new_key()
    first = http.post("/v1/customers/cus_gone000000", data={"name": "x"}, headers={"Idempotency-Key": key})
    assert first.status_code == 404
    again = http.post("/v1/customers/cus_gone000000", data={"name": "x"}, headers={"Idempotency-Key": key})
    assert again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["request-id"] != first.headers["request-id"]


def test_keys_belong_to_one_mode(server: Server, client: stripe.StripeClient, email: str) -> None:
    live = stripe.StripeClient(live_secret_key(server), base_addresses={"api": server.url})
    key = new_key()
    test_customer = client.v1.customers.create({"email": email}, {"idempotency_key": key})
    live_customer = live.v1.customers.create({"email": email}, {"idempotency_key": key})
    assert live_customer.id != test_customer.id
    assert live_customer.livemode is True
    assert live_customer.last_response is not None
    assert "Idempotent-Replayed" not in live_customer.last_response.headers


def test_keys_are_kept_for_a_day_then_forgotten(client: stripe.StripeClient, db: sa.Engine, email: str) -> None:
    key = new_key()
    first = client.v1.customers.create({"email": email}, {"idempotency_key": key})

    def age(seconds: int) -> None:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE idempotency_keys SET created = created - :s WHERE key = :k"),
                         {"s": seconds, "k": key})

    age(23 * 3600 + 3000)
    assert client.v1.customers.create({"email": email}, {"idempotency_key": key}).id == first.id
    age(3600)
    second = client.v1.customers.create({"email": email}, {"idempotency_key": key})
    assert second.id != first.id
    assert set(customers_with(client, email)) == {first.id, second.id}


def test_get_ignores_the_key_and_long_keys_are_refused(http: httpx.Client) -> None:
    listed = http.get("/v1/customers", headers={"Idempotency-Key": new_key()})
    assert listed.status_code == 200 and "idempotent-replayed" not in listed.headers
    response = http.post("/v1/customers", data={"name": "x"}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert error_of(response)["param"] == "Idempotency-Key"


@contextmanager
def writes_blocked(server: Server) -> Iterator[None]:
    """Hold the database's write lock from outside, so a request stalls mid-transaction."""
    if server.backend == "sqlite":
        conn = sqlite3.connect(server.database_url, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with psycopg.connect(server.database_url) as pg:
            pg.execute("LOCK TABLE objects IN SHARE ROW EXCLUSIVE MODE")
            yield
            pg.rollback()


def test_a_request_while_the_first_is_in_flight_is_409(server: Server, http: httpx.Client,
                                                       client: stripe.StripeClient, email: str) -> None:
    key = new_key()
    results: list[httpx.Response] = []
    with writes_blocked(server):
        first = threading.Thread(target=lambda: results.append(
            http.post("/v1/customers", data={"email": email}, headers={"Idempotency-Key": key}, timeout=60)))
        first.start()
        time.sleep(0.5)
        second = http.post("/v1/customers", data={"email": email}, headers={"Idempotency-Key": key})
        assert second.status_code == 409, second.text
        error = error_of(second)
        assert error["code"] == "idempotency_key_in_use"
        assert error["type"] == "invalid_request_error"
        assert second.headers["Stripe-Should-Retry"] == "true"
    first.join(30)
    assert [r.status_code for r in results] == [200]
    assert customers_with(client, email) == [results[0].json()["id"]]


def test_racing_retries_make_one_customer_and_one_event(server: Server, db: sa.Engine, email: str) -> None:
    key = new_key()
    start = threading.Barrier(8)
    made: list[str] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        racer = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, max_network_retries=5)
        start.wait()
        try:
            made.append(racer.v1.customers.create({"email": email}, {"idempotency_key": key}).id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(made) == 8 and len(set(made)) == 1
    checker = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url})
    assert customers_with(checker, email) == made[:1]
    assert count_events(db, "customer.created", made[0]) == 1
