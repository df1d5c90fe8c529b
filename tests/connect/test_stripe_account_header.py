"""``Stripe-Account``: a platform acts for its connected accounts, and accounts are walls."""

from __future__ import annotations

import time

import pytest
import stripe

from billfold.accounts import create_platform
from billfold.store.db import Database
from tests.support.server import Server


def _second_platform(server: Server) -> stripe.StripeClient:
    """Another business on the same Billfold, with keys of its own."""
    db = Database(server.database_url)
    try:
        _, keys = create_platform(db, int(time.time()))
    finally:
        db.dispose()
    secret = next(k.secret for k in keys if k.kind == "secret" and not k.livemode)
    return stripe.StripeClient(secret, base_addresses={"api": server.url}, max_network_retries=0)


def test_customer_of_a_connected_account_is_behind_its_wall(
    client: stripe.StripeClient, server: Server
) -> None:
    account = client.v1.accounts.create({"type": "custom", "country": "US"})
    as_seller = {"stripe_account": account.id}
    customer = client.v1.customers.create({"email": "buyer@example.com"}, options=as_seller)

    assert client.v1.customers.retrieve(customer.id, options=as_seller).email == "buyer@example.com"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve(customer.id)
    assert raised.value.http_status == 404
    assert customer.id not in [c.id for c in client.v1.customers.list({"limit": 100}).data]
    listed = client.v1.customers.list({"limit": 100}, options=as_seller)
    assert [c.id for c in listed.data] == [customer.id]

    stranger = _second_platform(server)
    with pytest.raises(stripe.PermissionError) as refused:
        stranger.v1.customers.retrieve(customer.id, options=as_seller)
    assert refused.value.http_status == 403
    assert refused.value.json_body["error"]["code"] == "account_invalid"  # type: ignore[index]
    assert "does not have access to account" in str(refused.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        stranger.v1.customers.retrieve(customer.id)
    with pytest.raises(stripe.InvalidRequestError) as link:
        stranger.v1.account_links.create(
            {"account": account.id, "refresh_url": "https://example.com/r",
             "return_url": "https://example.com/done", "type": "account_onboarding"}
        )
    assert link.value.param == "account"
    with pytest.raises(stripe.InvalidRequestError) as retrieved:
        stranger.v1.accounts.retrieve(account.id)
    assert retrieved.value.http_status == 404


def test_payments_made_as_a_connected_account(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create({"type": "standard"})
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"}},
        options={"stripe_account": account.id},
    )
    assert intent.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve(intent.id)
    seen = client.v1.payment_intents.retrieve(intent.id, options={"stripe_account": account.id})
    assert seen.amount == 2000


def test_unknown_or_deleted_account_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        client.v1.customers.list(options={"stripe_account": "acct_nosuchaccount"})
    assert raised.value.http_status == 403
    account = client.v1.accounts.create({"type": "express"})
    client.v1.accounts.delete(account.id)
    with pytest.raises(stripe.PermissionError):
        client.v1.customers.list(options={"stripe_account": account.id})


def test_a_connected_account_cannot_create_accounts(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create({"type": "custom"})
    with pytest.raises(stripe.PermissionError):
        client.v1.accounts.create({"type": "custom"}, options={"stripe_account": account.id})
    other = client.v1.accounts.create({"type": "custom"})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.retrieve(other.id, options={"stripe_account": account.id})
    assert raised.value.http_status == 404
