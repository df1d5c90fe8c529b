"""``invoice.upcoming``: three days before a subscription renews, a preview of the renewal invoice
(no ``id``), on the subscription's test clock."""

from __future__ import annotations

import time
from typing import Any

import stripe

DAY = 86_400


def clock(client: stripe.StripeClient) -> stripe.test_helpers.TestClock:
    return client.v1.test_helpers.test_clocks.create({"frozen_time": int(time.time()), "name": "upcoming"})


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to})
    deadline = time.monotonic() + 60
    while client.v1.test_helpers.test_clocks.retrieve(clock_id).status != "ready":
        assert time.monotonic() < deadline, "the test clock did not finish advancing"
        time.sleep(0.2)


def subscription(client: stripe.StripeClient, clock_id: str, amount: int, **extra: Any) -> stripe.Subscription:
    customer = client.v1.customers.create(
        {"test_clock": clock_id, "payment_method": "pm_card_visa",
         "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    ).id
    product = client.v1.products.create({"name": "Team plan"}).id
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": amount, "product": product, "recurring": {"interval": "month"}}
    ).id
    return client.v1.subscriptions.create({"customer": customer, "items": [{"price": price}], **extra})


def upcoming_for(client: stripe.StripeClient, customer: str) -> list[dict[str, Any]]:
    listed = client.v1.events.list({"type": "invoice.upcoming", "limit": 100}).data
    found = [e.data.object.to_dict() for e in listed]
    return [invoice for invoice in found if invoice.get("customer") == customer]


def test_the_renewal_is_announced_three_days_ahead(client: stripe.StripeClient) -> None:
    made = clock(client)
    sub = subscription(client, made.id, 2500)
    end = sub["items"].data[0].current_period_end
    advance(client, made.id, end - 4 * DAY)
    assert upcoming_for(client, str(sub.customer)) == []
    advance(client, made.id, end - 2 * DAY)
    [invoice] = upcoming_for(client, str(sub.customer))
    assert "id" not in invoice
    assert (invoice["object"], invoice["status"], invoice["amount_due"], invoice["total"]) == ("invoice", "draft", 2500, 2500)
    assert invoice["parent"]["subscription_details"]["subscription"] == sub.id
    [line] = invoice["lines"]["data"]
    assert (line["amount"], line["period"]["start"]) == (2500, end)
    # Running the clock on past the renewal does not announce this period again.
    advance(client, made.id, end + DAY)
    assert len(upcoming_for(client, str(sub.customer))) == 1
    assert client.v1.invoices.list({"subscription": sub.id}).data[0].amount_paid == 2500


def test_the_preview_shows_the_discount(client: stripe.StripeClient) -> None:
    made = clock(client)
    off = client.v1.coupons.create({"percent_off": 20, "duration": "forever"})
    sub = subscription(client, made.id, 3000, discounts=[{"coupon": off.id}])
    end = sub["items"].data[0].current_period_end
    advance(client, made.id, end - 2 * DAY)
    [invoice] = upcoming_for(client, str(sub.customer))
    assert (invoice["subtotal"], invoice["total"]) == (3000, 2400)


def test_a_subscription_cancelling_at_period_end_gets_none(client: stripe.StripeClient) -> None:
    made = clock(client)
    sub = subscription(client, made.id, 1000)
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    end = sub["items"].data[0].current_period_end
    advance(client, made.id, end - 2 * DAY)
    assert upcoming_for(client, str(sub.customer)) == []
