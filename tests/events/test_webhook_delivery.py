"""Webhook delivery: signed POSTs, event filtering, retries with backoff, outages and restarts.

The test servers retry after 1, 1 and 2 seconds (BILLFOLD_WEBHOOK_RETRY_DELAYS=1,1,2): four
attempts in all before a delivery is marked failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import stripe

from billfold.store.db import Database
from tests.events.conftest import Endpoints, Receiver, eventually, verified
from tests.support.server import Server


def _pending(client: stripe.StripeClient, event_id: str) -> int:
    return client.v1.events.retrieve(event_id).pending_webhooks


def test_an_event_arrives_signed(client: stripe.StripeClient, endpoints: Endpoints, receiver: Receiver) -> None:
    endpoint = endpoints(receiver.url, ["customer.created"])
    assert endpoint.secret is not None
    customer = client.v1.customers.create({"email": "signed@example.com"})
    receiver.wait_for(lambda r: len(r.about(customer.id)) == 1)
    (request,) = receiver.about(customer.id)
    assert request.path == "/webhook"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    signature = request.headers["Stripe-Signature"]
    assert signature.startswith("t=") and ",v1=" in signature

    event = verified(request, endpoint.secret)
    assert event.type == "customer.created"
    assert event.data.object.id == customer.id
    # The receiver answers before the worker records success: wait for that, then compare.
    eventually(lambda: _pending(client, event.id) == 0)
    stored = client.v1.events.retrieve(event.id)
    assert {**event.to_dict(), "pending_webhooks": 0} == stored.to_dict()

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request.body.decode(), signature, "whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request.body.decode() + " ", signature, endpoint.secret)


def test_enabled_events_choose_what_each_endpoint_gets(
    client: stripe.StripeClient, endpoints: Endpoints
) -> None:
    only_created, everything, disabled = Receiver().start(), Receiver().start(), Receiver().start()
    try:
        first = endpoints(only_created.url, ["customer.created"])
        second = endpoints(everything.url, ["*"])
        third = endpoints(disabled.url, ["*"])
        client.v1.webhook_endpoints.update(third.id, {"disabled": True})
        customer = client.v1.customers.create({"email": "filtered@example.com"})
        client.v1.customers.update(customer.id, {"name": "Filtered"})
        client.v1.customers.delete(customer.id)

        everything.wait_for(lambda r: len(r.about(customer.id)) == 3)
        only_created.wait_for(lambda r: len(r.about(customer.id)) == 1)
        time.sleep(1.0)  # time enough for anything wrongly queued to arrive too
        assert second.secret is not None and first.secret is not None
        types = sorted(verified(r, second.secret).type for r in everything.about(customer.id))
        assert types == ["customer.created", "customer.deleted", "customer.updated"]
        assert [verified(r, first.secret).type for r in only_created.about(customer.id)] == ["customer.created"]
        assert disabled.about(customer.id) == []
        created = client.v1.events.list({"type": "customer.created", "limit": 20})
        ours = [e for e in created.data if e.data.object.id == customer.id]
        assert ours[0].pending_webhooks == 0
    finally:
        for receiver in (only_created, everything, disabled):
            receiver.stop()


def test_failures_are_retried_with_backoff_until_success(
    client: stripe.StripeClient, endpoints: Endpoints, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    endpoint = endpoints(receiver.url, ["customer.created"])
    assert endpoint.secret is not None
    customer = client.v1.customers.create({"email": "retry@example.com"})
    receiver.wait_for(lambda r: len(r.about(customer.id)) >= 1)
    first_event = verified(receiver.about(customer.id)[0], endpoint.secret)
    assert _pending(client, first_event.id) == 1

    receiver.wait_for(lambda r: len(r.about(customer.id)) == 3)
    attempts = receiver.about(customer.id)
    ids = {verified(r, endpoint.secret).id for r in attempts}
    assert ids == {first_event.id}
    gaps = [later.at - earlier.at for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    eventually(lambda: _pending(client, first_event.id) == 0)
    time.sleep(1.5)
    assert len(receiver.about(customer.id)) == 3  # a success is not retried
    successful = client.v1.events.list({"type": "customer.created", "delivery_success": True, "limit": 50})
    assert first_event.id in [e.id for e in successful.data]


def test_exhausted_retries_leave_the_delivery_failed(
    client: stripe.StripeClient, endpoints: Endpoints, receiver: Receiver
) -> None:
    receiver.status = 500
    endpoint = endpoints(receiver.url, ["customer.created"])
    customer = client.v1.customers.create({"email": "failing@example.com"})
    receiver.wait_for(lambda r: len(r.about(customer.id)) == 4, timeout=20)
    time.sleep(3.0)
    attempts = receiver.about(customer.id)
    assert len(attempts) == 4  # the first try and one retry per delay, then no more
    assert endpoint.secret is not None
    event_id = verified(attempts[0], endpoint.secret).id
    assert _pending(client, event_id) == 1
    failing = client.v1.events.list({"type": "customer.created", "delivery_success": False, "limit": 50})
    assert event_id in [e.id for e in failing.data]
    successful = client.v1.events.list({"type": "customer.created", "delivery_success": True, "limit": 50})
    assert event_id not in [e.id for e in successful.data]


def test_an_outage_loses_nothing(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    receiver = Receiver()  # not listening yet
    endpoint = endpoints(receiver.url, ["customer.created"])
    made = [client.v1.customers.create({"email": f"outage-{i}@example.com"}).id for i in range(5)]
    time.sleep(1.5)
    receiver.start()
    try:
        receiver.wait_for(lambda r: all(r.about(c) for c in made))
        assert endpoint.secret is not None
        for customer_id in made:
            assert verified(receiver.about(customer_id)[0], endpoint.secret).type == "customer.created"
    finally:
        receiver.stop()


def test_a_slow_endpoint_does_not_hold_up_others(
    client: stripe.StripeClient, endpoints: Endpoints, receiver: Receiver
) -> None:
    slow = Receiver()
    slow.delay = 4.0
    slow.start()
    try:
        endpoints(slow.url, ["customer.created"])
        endpoints(receiver.url, ["customer.created"])
        made = [client.v1.customers.create({"email": f"slow-{i}@example.com"}).id for i in range(4)]
        started = time.monotonic()
        receiver.wait_for(lambda r: all(r.about(c) for c in made), timeout=10)
        assert time.monotonic() - started < 3.0
    finally:
        slow.stop()


def test_two_workers_deliver_each_event_once(
    client: stripe.StripeClient, server: Server, endpoints: Endpoints, receiver: Receiver
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "billfold", "worker", "--database", server.database_url],
        cwd=server.workdir,
        env={**os.environ, "BILLFOLD_WEBHOOK_RETRY_DELAYS": "1,1,2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        endpoints(receiver.url, ["customer.created"])
        made = [client.v1.customers.create({"email": f"twice-{i}@example.com"}).id for i in range(20)]
        receiver.wait_for(lambda r: all(r.about(c) for c in made))
        time.sleep(1.5)
        assert [len(receiver.about(c)) for c in made] == [1] * 20
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def _start(server: Server) -> stripe.StripeClient:
    server.start()
    return stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, max_network_retries=0)


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_a_crash_and_restart_lose_nothing(fresh_server: Server) -> None:
    receiver = Receiver()  # down while the events happen
    client = _start(fresh_server)
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    made = [client.v1.customers.create({"email": f"crash-{i}@example.com"}).id for i in range(5)]
    time.sleep(0.5)
    fresh_server.kill()
    receiver.start()
    try:
        client = _start(fresh_server)
        receiver.wait_for(lambda r: all(r.about(c) for c in made), timeout=20)
        assert endpoint.secret is not None
        events = {verified(receiver.about(c)[0], endpoint.secret).id for c in made}
        assert len(events) == 5
        eventually(lambda: all(_pending(client, e) == 0 for e in events))
    finally:
        receiver.stop()


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_the_worker_command_delivers_what_the_server_queued(fresh_server: Server) -> None:
    receiver = Receiver()
    client = _start(fresh_server)
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    customer = client.v1.customers.create({"email": "worker@example.com"})
    fresh_server.stop()
    receiver.start()
    worker = subprocess.Popen(
        [sys.executable, "-m", "billfold", "worker", "--database", fresh_server.database_url],
        cwd=fresh_server.workdir,
        env={**os.environ, "BILLFOLD_WEBHOOK_RETRY_DELAYS": "1,1,2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        receiver.wait_for(lambda r: len(r.about(customer.id)) == 1, timeout=20)
        assert endpoint.secret is not None
        assert verified(receiver.about(customer.id)[0], endpoint.secret).type == "customer.created"
    finally:
        worker.terminate()
        assert worker.wait(timeout=20) == 0
        receiver.stop()


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_the_worker_forgets_idempotency_keys_after_a_day(fresh_server: Server) -> None:
    client = _start(fresh_server)
    client.v1.customers.create({"email": "old@example.com"}, {"idempotency_key": "old-key"})
    client.v1.customers.create({"email": "new@example.com"}, {"idempotency_key": "new-key"})
    fresh_server.stop()
    db = Database(fresh_server.database_url)
    try:
        with db.transaction() as tx:
            tx.execute(
                "UPDATE idempotency_keys SET created = created - :age WHERE key = 'old-key'",
                age=25 * 3600,
            )
        _start(fresh_server)

        def keys() -> set[str]:
            with db.transaction(write=False) as tx:
                return {row.key for row in tx.all("SELECT key FROM idempotency_keys")}

        eventually(lambda: keys() == {"new-key"})
    finally:
        db.dispose()
