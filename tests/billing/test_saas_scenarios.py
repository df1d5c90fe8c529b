"""The Billing issue's scenarios end to end, on a test clock: a renewal a month later, a 25%-off
coupon, and a repeating coupon that discounts exactly its three periods."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from tests.support.server import Server

DAY = 86_400


def clock(client: stripe.StripeClient) -> stripe.test_helpers.TestClock:
    return client.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time()), "name": "scenario"})


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to})
    deadline = time.monotonic() + 60
    while client.v1.test_helpers.test_clocks.retrieve(clock_id).status != "ready":
        assert time.monotonic() < deadline, "the test clock did not finish advancing"
        time.sleep(0.2)


def subscriber(client: stripe.StripeClient, clock_id: str) -> str:
    return client.v1.customers.create(
        {"email": "saas@example.com", "test_clock": clock_id, "payment_method": "pm_card_visa",
         "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    ).id


def monthly_price(client: stripe.StripeClient, amount: int) -> str:
    product = client.v1.products.create({"name": "Team plan"}).id
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": amount, "product": product, "recurring": {"interval": "month"}}
    ).id


def invoices_of(client: stripe.StripeClient, subscription: str) -> list[Any]:
    listed = client.v1.invoices.list({"subscription": subscription, "limit": 100}).data
    return sorted(listed, key=lambda invoice: (invoice.created, invoice.number or ""))


def test_a_month_later_the_subscription_renews_with_a_paid_invoice(client: stripe.StripeClient) -> None:
    made = clock(client)
    customer = subscriber(client, made.id)
    subscription = client.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": monthly_price(client, 2000)}]}
    )
    assert subscription.status == "active"
    first_end = subscription["items"].data[0].current_period_end
    advance(client, made.id, first_end + DAY)

    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "active"
    assert renewed["items"].data[0].current_period_start == first_end
    invoices = invoices_of(client, subscription.id)
    assert [invoice.status for invoice in invoices] == ["paid", "paid"]
    assert [invoice.amount_paid for invoice in invoices] == [2000, 2000]
    assert invoices[1].billing_reason == "subscription_cycle"
    assert invoices[1].created >= first_end


def test_a_25_percent_coupon_takes_a_quarter_off(client: stripe.StripeClient) -> None:
    made = clock(client)
    coupon = client.v1.coupons.create({"percent_off": 25, "duration": "forever"})
    subscription = client.v1.subscriptions.create(
        {"customer": subscriber(client, made.id), "items": [{"price": monthly_price(client, 2000)}],
         "discounts": [{"coupon": coupon.id}]}
    )
    (first,) = invoices_of(client, subscription.id)
    assert (first.subtotal, first.total, first.amount_paid) == (2000, 1500, 1500)


def test_a_repeating_coupon_discounts_three_periods_then_stops(client: stripe.StripeClient) -> None:
    made = clock(client)
    coupon = client.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "repeating",
                                       "duration_in_months": 3})
    subscription = client.v1.subscriptions.create(
        {"customer": subscriber(client, made.id), "items": [{"price": monthly_price(client, 2000)}],
         "discounts": [{"coupon": coupon.id}]}
    )
    for _ in range(3):
        current = client.v1.subscriptions.retrieve(subscription.id)
        advance(client, made.id, current["items"].data[0].current_period_end + 60)
    totals = [invoice.total for invoice in invoices_of(client, subscription.id)]
    assert totals == [1500, 1500, 1500, 2000]


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_a_renewal_invoice_stays_a_draft_for_an_hour_then_is_charged(fresh_server: Server) -> None:
    fresh_server.start()  # Stripe's default: renewal invoices are finalized an hour after creation
    client = stripe.StripeClient(fresh_server.secret_key, base_addresses={"api": fresh_server.url})
    made = clock(client)
    subscription = client.v1.subscriptions.create(
        {"customer": subscriber(client, made.id), "items": [{"price": monthly_price(client, 2000)}]}
    )
    period_end = subscription["items"].data[0].current_period_end
    advance(client, made.id, period_end + 600)
    renewal = invoices_of(client, subscription.id)[-1]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.status == "draft"
    assert renewal.automatically_finalizes_at == period_end + 3600
    advance(client, made.id, period_end + 3600 + 60)
    charged = client.v1.invoices.retrieve(renewal.id)
    assert (charged.status, charged.amount_paid) == ("paid", 2000)
