"""A customer's discount: ``coupon``/``promotion_code`` on customers for versions before
2025-03-31.basil, deleting it, and invoices that inherit it (after their own and their
subscription's)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

OLD = {"stripe_version": "2024-04-10"}
DAY = 86_400


def coupon(client: stripe.StripeClient, **params: Any) -> stripe.Coupon:
    return client.v1.coupons.create({"percent_off": 25, "duration": "forever", **params})


def old_customer(client: stripe.StripeClient, **params: Any) -> stripe.Customer:
    return client.v1.customers.create({"email": "disc@example.com", **params}, options=OLD)  # type: ignore[arg-type]


def events_for(client: stripe.StripeClient, kind: str, customer: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"type": kind, "limit": 100}).data
    return [e for e in listed if e.data.object.to_dict().get("customer") == customer]


def invoice_of(client: stripe.StripeClient, customer: str, amount: int, **extra: Any) -> stripe.Invoice:
    client.v1.invoice_items.create({"customer": customer, "amount": amount, "currency": "usd"})
    return client.v1.invoices.create({"customer": customer, "pending_invoice_items_behavior": "include", **extra})


def refused(call: Any, *args: Any, **kwargs: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_a_coupon_on_create_gives_the_customer_a_discount(client: stripe.StripeClient) -> None:
    made = coupon(client)
    customer = old_customer(client, coupon=made.id)
    discount = customer.discount
    assert discount is not None
    assert (discount.object, discount.customer, discount.end) == ("discount", customer.id, None)
    assert discount.coupon.id == made.id and discount.coupon.percent_off == 25
    assert client.v1.coupons.retrieve(made.id).times_redeemed == 1
    [event] = events_for(client, "customer.discount.created", customer.id)
    assert event.data.object.id == discount.id
    # The current shape names the coupon in ``source``.
    assert client.v1.customers.retrieve(customer.id).discount.source.coupon == made.id


def test_newer_versions_refuse_the_legacy_parameters(client: stripe.StripeClient) -> None:
    made = coupon(client)
    error = refused(client.v1.customers.create, {"coupon": made.id})  # type: ignore[arg-type]
    assert (error.param, error.code) == ("coupon", "parameter_unknown")
    cus = client.v1.customers.create({"email": "new@example.com"})
    error = refused(client.v1.customers.update, cus.id, {"promotion_code": "promo_x"})  # type: ignore[arg-type]
    assert (error.param, error.code) == ("promotion_code", "parameter_unknown")
    assert client.v1.coupons.retrieve(made.id).times_redeemed == 0


def test_bad_coupons_and_codes_change_nothing(client: stripe.StripeClient) -> None:
    error = refused(old_customer, client, coupon="nope_coupon")
    assert (error.http_status, error.param, error.code) == (400, "coupon", "resource_missing")
    cus = old_customer(client)
    error = refused(client.v1.customers.update, cus.id, {"promotion_code": "NOSUCHCODE"}, options=OLD)
    assert error.param == "promotion_code"
    spent = coupon(client, max_redemptions=1)
    old_customer(client, coupon=spent.id)
    error = refused(client.v1.customers.update, cus.id, {"coupon": spent.id}, options=OLD)
    assert (error.param, error.code) == ("coupon", "coupon_expired")
    both = refused(client.v1.customers.update, cus.id, {"coupon": spent.id, "promotion_code": "X"}, options=OLD)
    assert both.param == "promotion_code"
    assert client.v1.customers.retrieve(cus.id).discount is None


def test_a_promotion_code_then_a_coupon_replace_the_discount(client: stripe.StripeClient) -> None:
    made = coupon(client)
    code = client.v1.promotion_codes.create({"promotion": {"type": "coupon", "coupon": made.id}, "code": f"SAVE{int(time.time() * 1000)}"})
    cus = old_customer(client)
    updated = client.v1.customers.update(cus.id, {"promotion_code": code.id}, options=OLD)  # type: ignore[arg-type]
    assert updated.discount.promotion_code == code.id
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    other = coupon(client, percent_off=10)
    replaced = client.v1.customers.update(cus.id, {"coupon": other.id}, options=OLD)  # type: ignore[arg-type]
    assert replaced.discount.coupon.id == other.id and replaced.discount.id != updated.discount.id
    assert len(events_for(client, "customer.discount.created", cus.id)) == 1
    assert len(events_for(client, "customer.discount.updated", cus.id)) == 1


def test_deleting_the_discount_returns_it_deleted(client: stripe.StripeClient) -> None:
    made = coupon(client)
    cus = old_customer(client, coupon=made.id)
    gone = client.v1.customers.delete_discount(cus.id)
    assert (gone.id, gone.object, gone.deleted) == (cus.discount.id, "discount", True)
    assert gone.customer == cus.id and gone.source.coupon == made.id and gone.start == cus.discount.start
    assert client.v1.customers.retrieve(cus.id).discount is None
    [event] = events_for(client, "customer.discount.deleted", cus.id)
    assert event.data.object.id == gone.id
    error = refused(client.v1.customers.delete_discount, cus.id)
    assert error.http_status == 404
    assert refused(client.v1.customers.delete_discount, "cus_missing").http_status == 404
    # Invoices after the deletion are full price.
    assert invoice_of(client, cus.id, 1000).total == 1000


def test_invoices_take_the_customer_discount_after_their_own(client: stripe.StripeClient) -> None:
    cus = old_customer(client, coupon=coupon(client).id)
    inherited = invoice_of(client, cus.id, 1000)
    assert inherited.total == 750
    assert inherited.discounts == [cus.discount.id]
    own = coupon(client, percent_off=10)
    explicit = invoice_of(client, cus.id, 1000, discounts=[{"coupon": own.id}])
    assert explicit.total == 900


def test_a_subscription_discount_wins_over_the_customer_one(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        {"email": "sub@example.com", "coupon": coupon(client).id, "payment_method": "pm_card_visa",  # type: ignore[typeddict-unknown-key]
         "invoice_settings": {"default_payment_method": "pm_card_visa"}},
        options=OLD,  # type: ignore[arg-type]
    )
    product = client.v1.products.create({"name": "Plan"}).id
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2000, "product": product, "recurring": {"interval": "month"}}
    ).id
    plain = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price}]})
    assert client.v1.invoices.retrieve(str(plain.latest_invoice)).total == 1500
    ten = coupon(client, percent_off=10)
    own = client.v1.subscriptions.create(
        {"customer": cus.id, "items": [{"price": price}], "discounts": [{"coupon": ten.id}]}
    )
    assert client.v1.invoices.retrieve(str(own.latest_invoice)).total == 1800


def test_a_once_coupon_discounts_only_the_first_invoice(client: stripe.StripeClient) -> None:
    cus = old_customer(client, coupon=coupon(client, duration="once").id)
    assert invoice_of(client, cus.id, 1000).total == 750
    assert invoice_of(client, cus.id, 1000).total == 1000


def test_a_repeating_coupon_ends_with_its_months(client: stripe.StripeClient) -> None:
    made = client.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time())})
    cus = client.v1.customers.create(
        {"test_clock": made.id, "coupon": coupon(client, duration="repeating", duration_in_months=1).id,  # type: ignore[typeddict-unknown-key]
         "payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}},
        options=OLD,  # type: ignore[arg-type]
    )
    assert cus.discount.end is not None
    product = client.v1.products.create({"name": "Plan"}).id
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2000, "product": product, "recurring": {"interval": "month"}}
    ).id
    sub = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": price}]})
    end = sub["items"].data[0].current_period_end
    client.v1.test_helpers.test_clocks.advance(made.id, {"frozen_time": end + DAY})
    deadline = time.monotonic() + 60
    while client.v1.test_helpers.test_clocks.retrieve(made.id).status != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    listed = client.v1.invoices.list({"subscription": sub.id}).data
    totals = sorted((i.created, i.total) for i in listed)
    assert [total for _, total in totals] == [1500, 2000]
