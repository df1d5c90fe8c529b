"""``billfold listen``: every new event reaches a local URL, signed so Stripe's SDK accepts it."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from tests.conftest import BACKENDS
from tests.devtools.support import Running, own_server, run, sdk
from tests.events.conftest import Receiver, verified
from tests.support.connect import completed_account
from tests.support.server import Server

SECRET = re.compile(r"(whsec_\w+)")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(request, tmp_path_factory, "listen")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


@pytest.fixture
def client(server: Server) -> stripe.StripeClient:
    return sdk(server)


def listening(server: Server, *args: str) -> tuple[Running, str]:
    """A running ``billfold listen`` and the signing secret it printed once ready."""
    process = Running(server, "listen", "--interval", "0.1", *args)
    ready = process.wait_for("Ready!")
    found = SECRET.search(ready)
    assert found, ready
    return process, found.group(1)


def events_about(client: stripe.StripeClient, ids: set[str]) -> list[str]:
    """The ids of the events about these objects, oldest first, as GET /v1/events lists them."""
    listed = client.v1.events.list({"limit": 100}).data
    return [e.id for e in reversed(listed) if e.data.object.to_dict().get("id") in ids]


def received_about(receiver: Receiver, secret: str, ids: set[str]) -> list[stripe.Event]:
    events = [verified(r, secret) for r in receiver.requests]
    return [e for e in events if e.data.object.to_dict().get("id") in ids]


def test_listen_forwards_new_events_signed_in_order(
    server: Server, client: stripe.StripeClient, receiver: Receiver
) -> None:
    old = client.v1.customers.create({"email": "before@example.com"})
    process, secret = listening(server, "--forward-to", receiver.url)
    try:
        customer = client.v1.customers.create({"email": "jenny@example.com"})
        client.v1.customers.update(customer.id, {"metadata": {"plan": "gold"}})
        intent = client.v1.payment_intents.create(
            {"amount": 1999, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
             "customer": customer.id, "payment_method_types": ["card"]}
        )
        ids = {customer.id, intent.id, str(intent.latest_charge)}
        expected = events_about(client, ids)
        assert len(expected) >= 5  # customer created+updated, intent created+succeeded, charge
        receiver.wait_for(lambda r: len(received_about(r, secret, ids)) >= len(expected))
        got = received_about(receiver, secret, ids)
        assert [e.id for e in got] == expected
        assert {e.type for e in got} >= {"customer.created", "customer.updated",
                                         "payment_intent.succeeded", "charge.succeeded"}
        # Everything received passed stripe.Webhook.construct_event with the printed secret.
        assert all(r.headers["Stripe-Signature"].startswith("t=") for r in receiver.requests)
        # An event from before listen started is not replayed.
        assert not received_about(receiver, secret, {old.id})
        lines = [line for line in process.drain() if "payment_intent.succeeded" in line]
        assert any(f"[{got_id}]" in lines[0] for got_id in expected)
        assert f"<-- [200] POST {receiver.url}" in lines[0]
    finally:
        assert process.stop() == 0
    assert "Stopped listening." in process.drain()


def test_a_forged_signature_would_be_refused(server: Server, client: stripe.StripeClient, receiver: Receiver) -> None:
    process, secret = listening(server, "--forward-to", receiver.url)
    try:
        customer = client.v1.customers.create({"name": "Signed"})
        receiver.wait_for(lambda r: bool(r.about(customer.id)))
    finally:
        process.stop()
    [delivery] = receiver.about(customer.id)
    assert verified(delivery, secret).type == "customer.created"
    with pytest.raises(stripe.SignatureVerificationError):
        verified(delivery, "whsec_" + "0" * 40)


def test_events_filter_forwards_only_matching_types(
    server: Server, client: stripe.StripeClient, receiver: Receiver
) -> None:
    process, secret = listening(server, "--forward-to", receiver.url, "--events", "product.created,customer.*")
    try:
        client.v1.prices.create({"currency": "usd", "unit_amount": 500, "product_data": {"name": "Tea"}})
        customer = client.v1.customers.create({"name": "Filtered"})
        client.v1.customers.delete(customer.id)
        receiver.wait_for(lambda r: any(verified(x, secret).type == "customer.deleted" for x in r.requests))
    finally:
        process.stop()
    types = [verified(r, secret).type for r in receiver.requests]
    assert "price.created" not in types
    assert "product.created" in types
    assert types[-2:] == ["customer.created", "customer.deleted"]


def test_a_failing_target_is_retried_and_reported(
    server: Server, client: stripe.StripeClient, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    process, secret = listening(server, "--forward-to", receiver.url, "--events", "customer.created")
    try:
        customer = client.v1.customers.create({"name": "Retried"})
        receiver.wait_for(lambda r: len(r.about(customer.id)) == 3)
        process.wait_for(f"<-- [200] POST {receiver.url}")
    finally:
        process.stop()
    assert [verified(r, secret).type for r in receiver.about(customer.id)] == ["customer.created"] * 3


def test_a_target_that_is_down_is_reported_and_listen_goes_on(
    server: Server, client: stripe.StripeClient, receiver: Receiver
) -> None:
    down = Receiver()  # never started: nothing listens on its port
    process, _ = listening(
        server, "--forward-to", down.url, "--retries", "1", "--events", "customer.created"
    )
    try:
        client.v1.customers.create({"name": "Nobody home"})
        line = process.wait_for("[ERROR]")
        assert "customer.created" in line and "after 2 attempts" in line
        client.v1.customers.create({"name": "Still listening"})
        assert process.wait_for("customer.created", timeout=15)
    finally:
        assert process.stop() == 0


def test_connected_account_events_go_to_forward_connect_to(
    server: Server, client: stripe.StripeClient, receiver: Receiver
) -> None:
    connect_receiver = Receiver().start()
    try:
        process, secret = listening(
            server, "--forward-to", receiver.url, "--forward-connect-to", connect_receiver.url
        )
        try:
            account = client.v1.accounts.create(completed_account())
            client.v1.accounts.update(account.id, {"metadata": {"tier": "gold"}})
            connect_receiver.wait_for(
                lambda r: any(verified(x, secret).type == "account.updated" for x in r.requests)
            )
        finally:
            process.stop()
        events = [verified(r, secret) for r in connect_receiver.requests]
        assert all(e.account == account.id for e in events)
        options: Any = {"stripe_account": account.id}
        listed = {e.id for e in client.v1.events.list({"limit": 100}, options=options).data}
        assert {e.id for e in events} <= listed
        assert not [r for r in receiver.requests if verified(r, secret).get("account") == account.id]
    finally:
        connect_receiver.stop()


def test_the_secret_is_stable_per_key_and_url(server: Server, receiver: Receiver) -> None:
    first, one = listening(server, "--forward-to", receiver.url)
    first.process.send_signal(signal.SIGINT)
    assert first.process.wait(timeout=10) == 0
    second, again = listening(server, "--forward-to", receiver.url)
    second.stop()
    third, other = listening(server, "--forward-to", receiver.url + "/other")
    third.stop()
    assert one == again != other


def test_bad_key_and_unreachable_server_exit_nonzero(server: Server) -> None:
    refused = run(server, "listen", "--forward-to", "http://127.0.0.1:9/x", key="sk_test_nope_nope_nope")
    assert refused.returncode == 1
    assert "Invalid API Key provided" in refused.stderr
    nowhere = run(None, "listen", "--api-base", "http://127.0.0.1:9", "--api-key", "sk_test_x")
    assert nowhere.returncode == 1
    assert "cannot reach Billfold" in nowhere.stderr


def test_replay_prints_the_last_events_without_a_forward_url(server: Server, client: stripe.StripeClient) -> None:
    # Two events at least, even when this is the first test on the module's server.
    client.v1.customers.create({"name": "Replayed"})
    client.v1.customers.create({"name": "Replayed too"})
    newest = client.v1.events.list({"limit": 2}).data
    process = Running(server, "listen", "--replay", "2", "--interval", "0.1")
    try:
        ready = process.wait_for("Ready!")
        assert "printing events" in ready
        older = process.wait_for(f"[{newest[1].id}]")
        latest = process.wait_for(f"[{newest[0].id}]")
    finally:
        process.stop()
    assert f"--> {newest[1].type} [{newest[1].id}]" in older and "POST" not in older
    assert f"--> {newest[0].type} [{newest[0].id}]" in latest
    lines = process.drain()
    assert lines.index(older) < lines.index(latest)  # oldest first
