"""Subscriptions over time: trials that end, periods that renew, cancellations that fall due.

The first tests run against the real servers in real time, with periods a few seconds long
(a billing cycle anchor, a trial end or a cancel_at just ahead). The rest run Billfold in this
process on a clock the test moves, still through the official SDK, to see a month pass, an
incomplete subscription expire after 23 hours, and month ends kept from one period to the next.
"""

from __future__ import annotations

import calendar
import secrets
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe

from billfold.app import Billfold
from billfold.clock import Clock
from billfold.config import Settings
from billfold.ledger.pricing import update_pricing
from billfold.web import pages
from billfold.wire.asgi import AsgiApp
from billfold.workers.jobs import JobWorker
from tests.billing.test_subscriptions import (
    MONTH,
    customer,
    events_for,
    invoice,
    price,
    refused,
    subscribe,
    wait_for,
)
from tests.support.server import create_pg_database, drop_pg_database

DAY = 86_400
# Starlette's test client, the in-process transport, warns about httpx and timeouts it ignores.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning"),
]



def test_a_trial_converts_when_it_ends(client: stripe.StripeClient) -> None:
    ends = int(time.time()) + 3
    sub = subscribe(client, trial_end=ends)
    assert sub.status == "trialing"
    wait_for(lambda: events_for(client, sub.id, "customer.subscription.trial_will_end"), bool, 10)
    converted = wait_for(lambda: client.v1.subscriptions.retrieve(sub.id), lambda s: s.status != "trialing")
    assert converted.status == "active"
    item = converted["items"].data[0]
    assert item.current_period_start == ends
    assert converted.billing_cycle_anchor == ends
    paid = invoice(client, converted.latest_invoice)
    assert (paid.status, paid.amount_paid, paid.billing_reason) == ("paid", 1000, "subscription_cycle")


def test_a_trial_without_a_payment_method_pauses_or_cancels(client: stripe.StripeClient) -> None:
    ends = int(time.time()) + 2
    paused = subscribe(
        client, customer=customer(client, None), trial_end=ends,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    canceled = subscribe(
        client, customer=customer(client, None), trial_end=ends,
        trial_settings={"end_behavior": {"missing_payment_method": "cancel"}},
    )
    paused = wait_for(lambda: client.v1.subscriptions.retrieve(paused.id), lambda s: s.status != "trialing")
    canceled = wait_for(lambda: client.v1.subscriptions.retrieve(canceled.id), lambda s: s.status != "trialing")
    assert paused.status == "paused"
    assert events_for(client, paused.id, "customer.subscription.paused")
    assert (canceled.status, canceled.ended_at) == ("canceled", ends)
    assert events_for(client, canceled.id, "customer.subscription.deleted")


def test_resume_a_paused_subscription(client: stripe.StripeClient) -> None:
    cus = customer(client, None)
    sub = subscribe(
        client, customer=cus, trial_end=int(time.time()) + 2,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    wait_for(lambda: client.v1.subscriptions.retrieve(sub.id), lambda s: s.status == "paused")
    client.v1.payment_methods.attach("pm_card_visa", {"customer": cus})
    method = client.v1.customers.payment_methods.list(cus).data[0].id
    client.v1.customers.update(cus, {"invoice_settings": {"default_payment_method": method}})
    resumed = client.v1.subscriptions.resume(sub.id, {"billing_cycle_anchor": "now"})
    assert resumed.status == "active"
    assert invoice(client, resumed.latest_invoice).status == "paid"
    assert events_for(client, sub.id, "customer.subscription.resumed")
    again = refused(client.v1.subscriptions.resume, sub.id)
    assert isinstance(again, stripe.InvalidRequestError) and again.http_status == 400


def test_cancel_at_ends_the_subscription_on_time(client: stripe.StripeClient) -> None:
    ends = int(time.time()) + 3
    sub = subscribe(client, cancel_at=ends)
    assert sub.cancel_at == ends
    gone = wait_for(lambda: client.v1.subscriptions.retrieve(sub.id), lambda s: s.status == "canceled")
    assert (gone.status, gone.ended_at) == ("canceled", ends)


def test_a_period_renews_on_its_own(client: stripe.StripeClient) -> None:
    anchor = int(time.time()) + 3
    sub = subscribe(client, billing_cycle_anchor=anchor, proration_behavior="none")
    assert sub.billing_cycle_anchor == anchor
    assert sub["items"].data[0].current_period_end == anchor
    assert invoice(client, sub.latest_invoice).amount_due == 0
    renewed = wait_for(
        lambda: client.v1.subscriptions.retrieve(sub.id),
        lambda s: s["items"].data[0].current_period_start == anchor,
    )
    item = renewed["items"].data[0]
    assert item.current_period_start == anchor
    assert 28 * 86_400 <= item.current_period_end - anchor <= MONTH
    paid = invoice(client, renewed.latest_invoice)
    assert (paid.status, paid.amount_paid, paid.billing_reason) == ("paid", 1000, "subscription_cycle")


def test_a_failed_renewal_makes_the_subscription_past_due(client: stripe.StripeClient) -> None:
    anchor = int(time.time()) + 3
    sub = subscribe(
        client, customer=customer(client, "pm_card_chargeCustomerFail"), billing_cycle_anchor=anchor,
        proration_behavior="none",
    )
    assert sub.status == "active"
    late = wait_for(lambda: client.v1.subscriptions.retrieve(sub.id), lambda s: s.status != "active")
    assert late.status == "past_due"
    unpaid = invoice(client, late.latest_invoice)
    assert (unpaid.status, unpaid.billing_reason, unpaid.attempt_count) == ("open", "subscription_cycle", 1)
    moves = [e.data.to_dict().get("previous_attributes", {}).get("status")
             for e in events_for(client, sub.id, "customer.subscription.updated")]
    assert "active" in moves


def test_metered_usage_is_billed_at_renewal(client: stripe.StripeClient) -> None:
    name = f"api_calls_{time.time_ns()}"
    meter = client.v1.billing.meters.create(
        {"display_name": "API calls", "event_name": name, "default_aggregation": {"formula": "sum"}}
    )
    product = client.v1.products.create({"name": "API"}).id
    metered = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2, "product": product,
         "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}}
    ).id
    cus = customer(client)
    anchor = int(time.time()) + 4
    sub = subscribe(client, customer=cus, items=[{"price": metered}], billing_cycle_anchor=anchor)
    assert sub["items"].data[0].quantity is None
    assert invoice(client, sub.latest_invoice).total == 0
    client.v1.billing.meter_events.create(
        {"event_name": name, "payload": {"stripe_customer_id": cus, "value": "350"}}
    )
    renewed = wait_for(
        lambda: client.v1.subscriptions.retrieve(sub.id), lambda s: s.latest_invoice != sub.latest_invoice
    )
    bill = invoice(client, renewed.latest_invoice)
    assert (bill.total, bill.amount_paid, bill.status) == (700, 700, "paid")
    line = bill.lines.data[0]
    assert (line.quantity, line.period.end) == (350, anchor)

# In this process, on a clock the test moves


class MovableClock(Clock):
    def __init__(self, start: float) -> None:
        self.at = start

    def now(self) -> int:
        return int(self.at)

    def precise(self) -> float:
        return self.at


@dataclass
class Clocked:
    app: Billfold
    clock: MovableClock
    client: stripe.StripeClient

    def advance_to(self, moment: float) -> int:
        """Move the clock and run every job that falls due, as the worker would."""
        self.clock.at = moment
        return JobWorker(self.app).run_due()


def utc(*parts: int) -> int:
    return calendar.timegm((*parts, 0, 0, 0, 0, 0)[:6])


@pytest.fixture(params=["sqlite", "postgres"])
def clocked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Clocked]:
    url = str(tmp_path / "clocked.db") if request.param == "sqlite" else create_pg_database()
    key = "sk_test_" + secrets.token_hex(16)
    clock = MovableClock(utc(2026, 1, 31, 9))
    app = Billfold(
        Settings(database_url=url, secret_key=key, publishable_key="pk_test_" + secrets.token_hex(16)),
        clock=clock,
    )
    app.start()
    with app.db.transaction() as tx:  # renewals charged at once; the hour is tested elsewhere
        update_pricing(tx, app.platform_account, {"renewal_invoice_delay": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    http = stripe.HTTPXClient(allow_sync_methods=True)
    http._client = TestClient(AsgiApp(app, pages.build(app)), base_url="http://testserver")
    client = stripe.StripeClient(
        key, base_addresses={"api": "http://testserver"}, http_client=http, max_network_retries=0
    )
    yield Clocked(app, clock, client)
    app.db.dispose()
    if request.param == "postgres":
        drop_pg_database(url)


def test_a_month_later_the_subscription_renews_with_a_paid_invoice(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client)
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (utc(2026, 1, 31, 9), utc(2026, 2, 28, 9))
    clocked.advance_to(utc(2026, 2, 28, 8, 59))
    assert client.v1.subscriptions.retrieve(sub.id).latest_invoice == sub.latest_invoice
    clocked.advance_to(utc(2026, 2, 28, 9))
    renewed = client.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (utc(2026, 2, 28, 9), utc(2026, 3, 31, 9))
    paid = invoice(client, renewed.latest_invoice)
    assert (paid.status, paid.amount_paid, paid.billing_reason) == ("paid", 1000, "subscription_cycle")
    assert (paid.period_start, paid.period_end) == (utc(2026, 1, 31, 9), utc(2026, 2, 28, 9))
    assert paid.lines.data[0].period.start == utc(2026, 2, 28, 9)
    updated = events_for(client, sub.id, "customer.subscription.updated")
    assert updated and "items" in updated[0].data.to_dict()["previous_attributes"]


def test_a_server_that_was_down_catches_up_period_by_period(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client)
    clocked.advance_to(utc(2026, 4, 15))
    renewed = client.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (utc(2026, 3, 31, 9), utc(2026, 4, 30, 9))
    cycles = client.v1.invoices.list({"subscription": sub.id, "limit": 10}).data
    assert [i.billing_reason for i in cycles] == ["subscription_cycle"] * 2 + ["subscription_create"]
    assert all(i.status == "paid" for i in cycles)


def test_an_unpaid_first_invoice_expires_after_23_hours(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client, customer=customer(client, "pm_card_chargeCustomerFail"))
    assert sub.status == "incomplete"
    clocked.advance_to(utc(2026, 2, 1, 7) + 59 * 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    clocked.advance_to(utc(2026, 2, 1, 8))
    expired = client.v1.subscriptions.retrieve(sub.id)
    assert (expired.status, expired.ended_at) == ("incomplete_expired", utc(2026, 2, 1, 8))
    assert invoice(client, expired.latest_invoice).status == "void"
    assert events_for(client, sub.id, "customer.subscription.deleted")
    clocked.advance_to(utc(2026, 3, 15))
    assert client.v1.invoices.list({"subscription": sub.id}).data[0].id == expired.latest_invoice


def test_cancel_at_period_end_ends_it_at_the_period_end(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client)
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    clocked.advance_to(utc(2026, 2, 28, 9))
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at, ended.canceled_at) == ("canceled", utc(2026, 2, 28, 9), utc(2026, 1, 31, 9))
    assert ended.latest_invoice == sub.latest_invoice
    assert events_for(client, sub.id, "customer.subscription.deleted")


def test_trial_will_end_comes_three_days_ahead(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client, trial_period_days=30)
    clocked.advance_to(sub.trial_end - 3 * DAY - 1)
    assert events_for(client, sub.id, "customer.subscription.trial_will_end") == []
    clocked.advance_to(sub.trial_end - 3 * DAY)
    assert len(events_for(client, sub.id, "customer.subscription.trial_will_end")) == 1
    clocked.advance_to(sub.trial_end)
    active = client.v1.subscriptions.retrieve(sub.id)
    assert active.status == "active"
    assert invoice(client, active.latest_invoice).amount_paid == 1000
    assert len(events_for(client, sub.id, "customer.subscription.trial_will_end")) == 1


def test_a_yearly_price_keeps_leap_day(clocked: Clocked) -> None:
    clocked.clock.at = utc(2028, 2, 29, 12)
    sub = subscribe(clocked.client, items=[{"price": price(clocked.client, 12_000, "year")}])
    assert sub["items"].data[0].current_period_end == utc(2029, 2, 28, 12)
    clocked.advance_to(utc(2029, 2, 28, 12))
    again = clocked.client.v1.subscriptions.retrieve(sub.id)["items"].data[0]
    assert (again.current_period_start, again.current_period_end) == (utc(2029, 2, 28, 12), utc(2030, 2, 28, 12))


def test_a_cancel_at_inside_the_next_period_bills_only_its_share(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client, cancel_at=utc(2026, 3, 15, 9))
    clocked.advance_to(utc(2026, 2, 28, 9))
    last = client.v1.subscriptions.retrieve(sub.id)
    item = last["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (utc(2026, 2, 28, 9), utc(2026, 3, 15, 9))
    share = invoice(client, last.latest_invoice)
    assert share.amount_paid == round(1000 * 15 / 31)
    clocked.advance_to(utc(2026, 3, 15, 9))
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", utc(2026, 3, 15, 9))


def test_paused_collection_keeps_renewal_invoices_as_drafts(clocked: Clocked) -> None:
    client = clocked.client
    sub = subscribe(client)
    client.v1.subscriptions.update(
        sub.id, {"pause_collection": {"behavior": "keep_as_draft", "resumes_at": utc(2026, 3, 10)}}
    )
    clocked.advance_to(utc(2026, 2, 28, 9))
    held = client.v1.subscriptions.retrieve(sub.id)
    assert held.status == "active"
    assert invoice(client, held.latest_invoice).status == "draft"
    clocked.advance_to(utc(2026, 3, 10))
    assert client.v1.subscriptions.retrieve(sub.id).pause_collection is None
    clocked.advance_to(utc(2026, 3, 31, 9))
    resumed = client.v1.subscriptions.retrieve(sub.id)
    assert invoice(client, resumed.latest_invoice).status == "paid"
