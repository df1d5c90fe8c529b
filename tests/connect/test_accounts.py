"""Connected accounts, as Stripe's Connect guides create and manage them."""

from __future__ import annotations

import pytest
import stripe

from tests.support.connect import completed_account


def express(client: stripe.StripeClient, **extra: object) -> stripe.Account:
    return client.v1.accounts.create(
        {
            "type": "express",
            "country": "US",
            "email": "seller@example.com",
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            **extra,  # type: ignore[typeddict-item]
        }
    )


def test_create_express_account_owes_its_requirements(client: stripe.StripeClient) -> None:
    account = express(client, metadata={"seller": "42"})
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.country == "US"
    assert account.default_currency == "usd"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert account.charges_enabled is False
    assert account.payouts_enabled is False
    assert account.details_submitted is False
    due = account.requirements.currently_due
    assert "business_type" in due and "external_account" in due and "tos_acceptance.date" in due
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.metadata.to_dict() == {"seller": "42"}
    assert account.external_accounts.data == []


def test_custom_account_completed_through_the_api(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create(completed_account())
    assert account.requirements.currently_due == ["external_account"]
    assert account.individual.ssn_last_4_provided is True
    assert "ssn_last_4" not in account.individual.to_dict()
    updated = client.v1.accounts.update(
        account.id,
        {"external_account": {"object": "bank_account", "country": "US", "currency": "usd",  # type: ignore[typeddict-item]
                              "routing_number": "110000000", "account_number": "000123456789"}},
    )
    assert updated.requirements.currently_due == []
    assert updated.requirements.disabled_reason is None
    assert updated.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert updated.charges_enabled is True and updated.payouts_enabled is True
    bank = updated.external_accounts.data[0]
    assert bank.object == "bank_account" and bank.last4 == "6789" and bank.routing_number == "110000000"
    assert bank.default_for_currency is True and bank.status == "new"


def test_retrieve_update_list_delete(client: stripe.StripeClient) -> None:
    account = express(client)
    assert client.v1.accounts.retrieve(account.id).id == account.id
    updated = client.v1.accounts.update(
        account.id,
        {"email": "new@example.com", "business_profile": {"name": "Rosen Goods"},
         "settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}}},
    )
    assert updated.email == "new@example.com"
    assert updated.business_profile.name == "Rosen Goods"
    assert updated.settings.payouts.schedule.to_dict() == {
        "delay_days": 2, "interval": "weekly", "weekly_anchor": "friday"
    }
    listed = client.v1.accounts.list({"limit": 2})
    assert listed.data[0].id == account.id
    deleted = client.v1.accounts.delete(account.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.retrieve(account.id)
    assert raised.value.http_status == 404
    assert account.id not in [a.id for a in client.v1.accounts.list({"limit": 100}).data]


def test_standard_account_requests_payments_itself(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create({"type": "standard"})
    assert account.type == "standard"
    assert account.controller.type == "account"
    assert sorted(account.capabilities.to_dict()) == ["card_payments", "transfers"]


def test_controller_settings_describe_the_account(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.create(
        {"controller": {"stripe_dashboard": {"type": "none"}, "requirement_collection": "application",
                        "fees": {"payer": "application"}, "losses": {"payments": "application"}}}
    )
    assert account.type == "custom"
    assert account.controller.requirement_collection == "application"
    assert account.controller.is_controller is True


def test_reject(client: stripe.StripeClient) -> None:
    account = express(client)
    rejected = client.v1.accounts.reject(account.id, {"reason": "fraud"})
    assert rejected.requirements.disabled_reason == "rejected.fraud"
    assert rejected.charges_enabled is False
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.reject(client.v1.accounts.create({"type": "standard"}).id, {"reason": "fraud"})


def test_capabilities(client: stripe.StripeClient) -> None:
    account = express(client)
    listed = client.v1.accounts.capabilities.list(account.id)
    assert [c.id for c in listed.data] == ["card_payments", "transfers"]
    card = client.v1.accounts.capabilities.retrieve(account.id, "card_payments")
    assert card.object == "capability" and card.requested is True and card.status == "inactive"
    assert "external_account" in card.requirements.currently_due
    off = client.v1.accounts.capabilities.update(account.id, "card_payments", {"requested": False})
    assert off.status == "unrequested" and off.requested is False
    assert client.v1.accounts.retrieve(account.id).capabilities.to_dict() == {"transfers": "inactive"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.capabilities.retrieve(account.id, "teleportation")
    assert raised.value.http_status == 404


def test_external_accounts(client: stripe.StripeClient) -> None:
    account = express(client)
    first = client.v1.accounts.external_accounts.create(
        account.id, {"external_account": "btok_us_verified"}
    )
    second = client.v1.accounts.external_accounts.create(
        account.id,
        {"external_account": {"object": "bank_account", "country": "US", "currency": "usd",  # type: ignore[typeddict-item]
                              "routing_number": "110000000", "account_number": "000111111116"}},
    )
    assert first.default_for_currency is True and second.default_for_currency is False
    assert second.last4 == "1116"
    listed = client.v1.accounts.external_accounts.list(account.id)
    assert {b.id for b in listed.data} == {first.id, second.id}
    assert client.v1.accounts.external_accounts.retrieve(account.id, second.id).id == second.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.external_accounts.delete(account.id, first.id)
    gone = client.v1.accounts.external_accounts.delete(account.id, second.id)
    assert gone.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.external_accounts.retrieve(account.id, second.id)
    assert raised.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.accounts.external_accounts.create(
            account.id,
            {"external_account": {"object": "bank_account", "country": "US",  # type: ignore[typeddict-item]
                                  "routing_number": "12", "account_number": "000123456789"}},
        )
    assert bad.value.param == "external_account[routing_number]"


def test_own_account(client: stripe.StripeClient) -> None:
    own = client.v1.accounts.retrieve_current()
    assert own.id.startswith("acct_") and own.charges_enabled is True
    connected = express(client)
    seen = client.v1.accounts.retrieve_current(options={"stripe_account": connected.id})
    assert seen.id == connected.id


def test_bad_input(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.retrieve("acct_doesnotexist")
    assert raised.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create({"type": "express", "country": "ZZ"})
    assert raised.value.http_status == 400 and raised.value.param == "country"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create({"type": "premium"})  # type: ignore[typeddict-item]
    assert raised.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create({"type": "express", "controller": {"fees": {"payer": "application"}}})
    assert raised.value.param == "controller"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.accounts.create({"type": "custom", "business_type": "pirate"})  # type: ignore[typeddict-item]
    assert raised.value.param == "business_type"
