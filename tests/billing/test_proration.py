"""Prorations: the arithmetic to the second, calendar periods, and the amounts a mid-period
change bills through the SDK (credits for unused time, charges for the remaining time)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import stripe

from billfold.resources.billing.proration import prorated
from billfold.resources.billing.subscription_periods import (
    boundary,
    next_boundary,
    period_containing,
)
from tests.billing.test_subscriptions import customer, price, refused

DAY = 86_400


def at(*parts: int) -> int:
    return int(datetime.datetime(*parts, tzinfo=datetime.UTC).timestamp())  # type: ignore[misc]


def expected(amount: int, start: int, end: int, when: int) -> int:
    """Stripe's proration, rounded half away from zero, computed independently of Billfold."""
    exact = abs(amount) * (end - when) / (end - start)
    whole = int(exact) + (1 if exact - int(exact) >= 0.5 else 0)
    return whole if amount >= 0 else -whole


def test_prorated_rounds_half_away_from_zero() -> None:
    assert prorated(1000, 0, 30, 15, 30) == 500
    assert prorated(1000, 0, 3, 1, 3) == 667
    assert prorated(-1000, 0, 3, 1, 3) == -667
    assert prorated(1, 0, 4, 2, 4) == 1
    assert prorated(-1, 0, 4, 2, 4) == -1
    assert prorated(1000, 0, 30, 30, 30) == 0
    assert prorated(1999, 100, 100 + 31 * DAY, 100 + 10 * DAY, 100 + 31 * DAY) == 1354


def test_month_ends_clamp_and_come_back() -> None:
    anchor = at(2026, 1, 31, 9)
    assert [boundary(anchor, "month", 1, n) for n in range(4)] == [
        anchor, at(2026, 2, 28, 9), at(2026, 3, 31, 9), at(2026, 4, 30, 9),
    ]
    assert boundary(at(2024, 2, 29), "year", 1, 1) == at(2025, 2, 28)
    assert boundary(at(2024, 2, 29), "year", 1, 4) == at(2028, 2, 29)
    assert boundary(anchor, "month", 3, 1) == at(2026, 4, 30, 9)
    assert next_boundary(anchor, "week", 2, anchor) == anchor + 14 * DAY
    assert next_boundary(anchor, "day", 1, anchor + 5) == anchor + DAY
    assert period_containing(anchor, "month", 1, at(2026, 3, 15)) == (at(2026, 2, 28, 9), at(2026, 3, 31, 9))
    assert period_containing(anchor, "month", 1, at(2026, 3, 31, 9)) == (at(2026, 3, 31, 9), at(2026, 4, 30, 9))


def _pending(client: stripe.StripeClient, cus: str) -> list[stripe.InvoiceItem]:
    found = client.v1.invoice_items.list({"customer": cus, "pending": True, "limit": 100}).data
    return sorted(found, key=lambda i: i.amount)


def _subscribed(client: stripe.StripeClient, amount: int = 1000) -> tuple[str, stripe.Subscription]:
    cus = customer(client)
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client, amount)}]})
    return cus, sub


def test_an_upgrade_mid_period_credits_and_charges_to_the_second(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client)
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    when = start + 9 * DAY + 3_725
    upgraded = client.v1.subscriptions.update(
        sub.id,
        {"items": [{"id": item.id, "price": price(client, 2000, name="Premium")}], "proration_date": when},
    )
    assert upgraded["items"].data[0].id == item.id
    assert upgraded["items"].data[0].price.unit_amount == 2000
    credit, charge = _pending(client, cus)
    assert credit.amount == expected(-1000, start, end, when)
    assert charge.amount == expected(2000, start, end, when)
    assert credit.proration is True and charge.proration is True
    assert (credit.period.start, credit.period.end) == (when, end)
    assert credit.description.startswith("Unused time on 1 × Pro plan after ")
    assert charge.description.startswith("Remaining time on 1 × Premium after ")
    shown = credit.to_dict()
    assert shown["parent"]["subscription_details"]["subscription"] == sub.id


def test_always_invoice_bills_the_proration_now(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client)
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    when = start + 3 * DAY
    changed = client.v1.subscriptions.update(
        sub.id,
        {"items": [{"id": item.id, "quantity": 3}], "proration_behavior": "always_invoice", "proration_date": when},
    )
    assert changed["items"].data[0].quantity == 3
    assert changed.latest_invoice != sub.latest_invoice
    bill = client.v1.invoices.retrieve(str(changed.latest_invoice))
    owed = expected(-1000, start, end, when) + expected(3000, start, end, when)
    assert (bill.billing_reason, bill.total, bill.status, bill.amount_paid) == ("subscription_update", owed, "paid", owed)
    assert _pending(client, cus) == []


def test_no_prorations_when_asked(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client)
    item = sub["items"].data[0]
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "quantity": 5}], "proration_behavior": "none"}
    )
    assert _pending(client, cus) == []


def test_cancel_with_prorate_credits_the_unused_time(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client, 3100)
    item = sub["items"].data[0]
    canceled = client.v1.subscriptions.cancel(sub.id, {"prorate": True})
    assert canceled.status == "canceled"
    (credit,) = _pending(client, cus)
    start, end = item.current_period_start, item.current_period_end
    assert credit.amount == expected(-3100, start, end, int(credit.period.start))
    assert credit.period.end == end


def test_a_proration_date_outside_the_period_is_refused(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client)
    item = sub["items"].data[0]
    params: dict[str, Any] = {"items": [{"id": item.id, "quantity": 2}], "proration_date": item.current_period_end + DAY}
    error = refused(client.v1.subscriptions.update, sub.id, params)
    assert isinstance(error, stripe.InvalidRequestError) and error.param == "proration_date"
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 1
    assert _pending(client, cus) == []


@pytest.mark.parametrize("behavior", ["create_prorations", "always_invoice"])
def test_removing_an_item_credits_it(client: stripe.StripeClient, behavior: str) -> None:
    cus = customer(client)
    first, second = price(client, 1000), price(client, 500, name="Add-on")
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": first}, {"price": second}]})
    extra = next(i for i in sub["items"].data if i.price.id == second)
    start, end = extra.current_period_start, extra.current_period_end
    when = start + DAY
    client.v1.subscriptions.update(
        sub.id, {"items": [{"id": extra.id, "deleted": True}], "proration_behavior": behavior, "proration_date": when}
    )
    left = client.v1.subscriptions.retrieve(sub.id)
    assert [i.price.id for i in left["items"].data] == [first]
    if behavior == "create_prorations":
        (credit,) = _pending(client, cus)
        assert credit.amount == expected(-500, start, end, when)
    else:
        bill = client.v1.invoices.retrieve(str(left.latest_invoice))
        assert bill.total == expected(-500, start, end, when)


def test_cancel_with_invoice_now_bills_the_credit_at_once(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client, 3100)
    canceled = client.v1.subscriptions.cancel(sub.id, {"prorate": True, "invoice_now": True})
    assert canceled.status == "canceled"
    assert canceled.latest_invoice != sub.latest_invoice
    final = client.v1.invoices.retrieve(str(canceled.latest_invoice))
    assert final.total < 0 and final.status == "paid"
    assert [line.amount for line in final.lines.data] == [final.total]
    assert _pending(client, cus) == []


def test_an_earlier_cancel_at_credits_the_time_it_cuts_off(client: stripe.StripeClient) -> None:
    cus, sub = _subscribed(client)
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    ends = start + 10 * DAY
    marked = client.v1.subscriptions.update(sub.id, {"cancel_at": ends})
    assert (marked.cancel_at, marked.status) == (ends, "active")
    (credit,) = _pending(client, cus)
    assert credit.amount == expected(-1000, start, end, ends)
    assert (credit.period.start, credit.period.end) == (ends, end)
