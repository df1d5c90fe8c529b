"""Customers, as the Stripe docs' own examples use them."""

from __future__ import annotations

import time

import pytest
import stripe


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        {"email": "jenny@example.com", "name": "Jenny Rosen", "metadata": {"order": "6735"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
    assert customer.email == "jenny@example.com"
    assert customer.metadata.to_dict() == {"order": "6735"}
    assert customer.livemode is False

    fetched = client.v1.customers.retrieve(customer.id)
    assert fetched.name == "Jenny Rosen"

    updated = client.v1.customers.update(
        customer.id, {"description": "VIP", "metadata": {"order": "", "tier": "gold"}}
    )
    assert updated.description == "VIP"
    assert updated.metadata.to_dict() == {"tier": "gold"}

    deleted = client.v1.customers.delete(customer.id)
    assert deleted.deleted is True
    again = client.v1.customers.retrieve(customer.id)
    assert again.to_dict().get("deleted") is True


def test_list_by_email_newest_first(client: stripe.StripeClient) -> None:
    email = f"list-{id(client)}-{time.time_ns()}@example.com"
    made = [client.v1.customers.create({"email": email}).id for _ in range(3)]
    listed = client.v1.customers.list({"email": email, "limit": 2})
    assert [c.id for c in listed.data] == made[::-1][:2]
    assert listed.has_more is True
    assert listed.url == "/v1/customers"
    rest = client.v1.customers.list({"email": email, "starting_after": listed.data[-1].id})
    assert [c.id for c in rest.data] == [made[0]]
    assert rest.has_more is False
    before = client.v1.customers.list({"email": email, "ending_before": made[0]})
    assert [c.id for c in before.data] == made[::-1][:2]


def test_unknown_parameter_is_refused_and_changes_nothing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create({"emial": "typo@example.com"})  # type: ignore[typeddict-unknown-key]
    assert raised.value.http_status == 400
    assert raised.value.param == "emial"
    assert "Received unknown parameter: emial" in str(raised.value.user_message)
    assert client.v1.customers.list({"email": "typo@example.com"}).data == []


def test_missing_customer_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "id"
