"""The real-time billing clock: jobs fall due on the wall clock and the worker runs them, while a
test clock's jobs wait for the clock to be advanced."""

from __future__ import annotations

import time

import stripe

from tests.billing.test_subscriptions import customer, invoice, price, wait_for
from tests.billing.test_test_clocks import DAY, advance, clock_customer, make_clock


def test_a_draft_is_finalized_and_paid_when_its_time_comes(client: stripe.StripeClient) -> None:
    cus = customer(client)
    client.v1.invoice_items.create({"customer": cus, "amount": 1234, "currency": "usd"})
    due = int(time.time()) + 2
    draft = client.v1.invoices.create(
        {"customer": cus, "auto_advance": True, "automatically_finalizes_at": due,
         "pending_invoice_items_behavior": "include"}
    )
    assert (draft.status, draft.automatically_finalizes_at) == ("draft", due)
    paid = wait_for(lambda: invoice(client, draft.id), lambda i: i.status == "paid", 20)
    assert (paid.status, paid.amount_paid) == ("paid", 1234)
    assert paid.status_transitions.finalized_at >= due


def test_a_subscription_renews_on_its_own_in_real_time(client: stripe.StripeClient) -> None:
    anchor = int(time.time()) + 2
    sub = client.v1.subscriptions.create(
        {"customer": customer(client), "items": [{"price": price(client)}],
         "billing_cycle_anchor": anchor, "proration_behavior": "none"}
    )
    renewed = wait_for(
        lambda: client.v1.subscriptions.retrieve(sub.id),
        lambda s: s["items"].data[0].current_period_start == anchor, 20,
    )
    assert renewed["items"].data[0].current_period_start == anchor
    assert invoice(client, renewed.latest_invoice).status == "paid"


def test_the_worker_leaves_a_clock_s_jobs_to_the_clock(client: stripe.StripeClient) -> None:
    # A clock frozen 40 days ago: its subscription's renewal is long past on the wall clock.
    start = int(time.time()) - 40 * DAY
    clock = make_clock(client, start)
    cus = clock_customer(client, clock.id)
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client)}]})
    period_end = sub["items"].data[0].current_period_end
    assert period_end < time.time()
    time.sleep(2)
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].current_period_start == start
    advance(client, clock.id, period_end + 10)
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].current_period_start == period_end
