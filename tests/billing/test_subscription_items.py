"""Subscription items: add, retrieve, change, list and remove a subscription's prices."""

from __future__ import annotations

import stripe

from tests.billing.test_subscriptions import customer, events_for, price, refused


def _subscription(client: stripe.StripeClient) -> stripe.Subscription:
    return client.v1.subscriptions.create({"customer": customer(client), "items": [{"price": price(client)}]})


def test_add_change_list_and_remove_an_item(client: stripe.StripeClient) -> None:
    sub = _subscription(client)
    addon = price(client, 300, name="Seats")
    added = client.v1.subscription_items.create(
        {"subscription": sub.id, "price": addon, "quantity": 4, "metadata": {"team": "ops"},
         "proration_behavior": "none"}
    )
    assert added.id.startswith("si_") and added.object == "subscription_item"
    assert (added.subscription, added.price.id, added.quantity) == (sub.id, addon, 4)
    assert added.metadata.to_dict() == {"team": "ops"}
    first = sub["items"].data[0]
    assert (added.current_period_start, added.current_period_end) == (
        first.current_period_start, first.current_period_end,
    )
    assert client.v1.subscription_items.retrieve(added.id).quantity == 4
    listed = client.v1.subscription_items.list({"subscription": sub.id})
    assert {i.id for i in listed.data} == {first.id, added.id}
    assert listed.url == "/v1/subscription_items"
    updated = client.v1.subscription_items.update(
        added.id, {"quantity": 6, "metadata": {"team": ""}, "proration_behavior": "none"}
    )
    assert (updated.quantity, updated.metadata.to_dict()) == (6, {})
    whole = client.v1.subscriptions.retrieve(sub.id)
    assert sorted(i.quantity for i in whole["items"].data) == [1, 6]
    assert events_for(client, sub.id, "customer.subscription.updated")

    removed = client.v1.subscription_items.delete(added.id, {"proration_behavior": "none"})
    assert (removed.id, removed.deleted) == (added.id, True)
    assert [i.id for i in client.v1.subscription_items.list({"subscription": sub.id}).data] == [first.id]
    gone = refused(client.v1.subscription_items.retrieve, added.id)
    assert isinstance(gone, stripe.InvalidRequestError) and gone.http_status == 404


def test_the_last_item_cannot_be_removed(client: stripe.StripeClient) -> None:
    sub = _subscription(client)
    only = sub["items"].data[0]
    error = refused(client.v1.subscription_items.delete, only.id)
    assert isinstance(error, stripe.InvalidRequestError)
    assert "at least one active plan" in str(error.user_message)
    assert client.v1.subscription_items.retrieve(only.id).id == only.id


def test_bad_items_are_refused(client: stripe.StripeClient) -> None:
    sub = _subscription(client)
    cases = [
        ({"subscription": "sub_missing", "price": price(client)}, "subscription"),
        ({"subscription": sub.id}, "price"),
        ({"subscription": sub.id, "price": "price_missing"}, "price"),
        ({"subscription": sub.id, "price": price(client, 100, "year")}, None),
        ({"subscription": sub.id, "price": price(client), "quantity": -2}, "quantity"),
    ]
    for params, param in cases:
        error = refused(client.v1.subscription_items.create, params)
        assert isinstance(error, stripe.InvalidRequestError), params
        assert error.http_status == 400 and error.param == param, (params, error.param)
    assert len(client.v1.subscription_items.list({"subscription": sub.id}).data) == 1
    missing = refused(client.v1.subscription_items.list, {"subscription": "sub_missing"})
    assert isinstance(missing, stripe.InvalidRequestError) and missing.param == "subscription"


def test_an_older_version_lists_items_without_periods(client: stripe.StripeClient) -> None:
    sub = _subscription(client)
    listed = client.v1.subscription_items.list(
        {"subscription": sub.id}, options={"stripe_version": "2024-04-10"}  # type: ignore[arg-type]
    )
    shown = listed.data[0].to_dict()
    assert "current_period_start" not in shown
    assert shown["plan"]["object"] == "plan" and shown["price"]["object"] == "price"
