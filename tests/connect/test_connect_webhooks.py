"""Connect webhooks: a connected account's events carry ``account`` and go to the platform's
``connect=true`` endpoints, signed with their secrets; plain endpoints do not get them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import stripe

from tests.events.conftest import Receiver, verified


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    connect, plain = Receiver().start(), Receiver().start()
    yield connect, plain
    connect.stop()
    plain.stop()


def test_connected_accounts_events_reach_connect_endpoints(
    client: stripe.StripeClient, receivers: tuple[Receiver, Receiver]
) -> None:
    connect, plain = receivers
    made = [
        client.v1.webhook_endpoints.create(
            {"url": connect.url, "enabled_events": ["customer.created", "account.updated",
                                                     "capability.updated", "account.application.deauthorized"],
             "connect": True}
        ),
        client.v1.webhook_endpoints.create({"url": plain.url, "enabled_events": ["customer.created"]}),
    ]
    try:
        account = client.v1.accounts.create({"type": "custom", "country": "US"})
        customer = client.v1.customers.create(options={"stripe_account": account.id})
        client.v1.accounts.update(account.id, {"business_type": "individual"})
        own = client.v1.customers.create()

        connect.wait_for(lambda r: bool(r.about(customer.id)) and bool(r.about(account.id)))
        event = verified(connect.about(customer.id)[0], str(made[0].secret))
        assert event.type == "customer.created"
        assert event.account == account.id
        updated = verified(connect.about(account.id)[0], str(made[0].secret))
        assert updated.type == "account.updated" and updated.account == account.id
        assert updated.data.previous_attributes["business_type"] is None  # type: ignore[index]

        plain.wait_for(lambda r: bool(r.about(own.id)))
        assert connect.about(own.id) == []
        time.sleep(0.5)
        assert plain.about(customer.id) == []
        with pytest.raises(stripe.SignatureVerificationError):
            verified(connect.about(customer.id)[0], str(made[1].secret))

        client.v1.accounts.delete(account.id)
        connect.wait_for(lambda r: any(x.event["type"] == "account.application.deauthorized"
                                       and x.event.get("account") == account.id for x in r.requests))
    finally:
        for endpoint in made:
            client.v1.webhook_endpoints.delete(endpoint.id)
