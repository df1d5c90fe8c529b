"""Test clocks through the SDK: customers on a frozen time, advanced a month at a time."""

from __future__ import annotations

from typing import Any

import stripe

from tests.billing.test_subscriptions import events_for, invoice, price, refused, wait_for

DAY = 86_400
JAN_1 = 1_767_225_600  # 2026-01-01T00:00:00Z
FEB_1 = JAN_1 + 31 * DAY
MAR_1 = FEB_1 + 28 * DAY


def make_clock(client: stripe.StripeClient, frozen_time: int = JAN_1, name: str | None = None) -> Any:
    params: dict[str, Any] = {"frozen_time": frozen_time}
    if name is not None:
        params["name"] = name
    return client.v1.test_helpers.test_clocks.create(params)  # type: ignore[arg-type]


def clock_customer(client: stripe.StripeClient, clock: str, card: str | None = "pm_card_visa") -> str:
    params: dict[str, Any] = {"email": "jenny@example.com", "test_clock": clock}
    if card is not None:
        params.update(payment_method=card, invoice_settings={"default_payment_method": card})
    return client.v1.customers.create(params).id  # type: ignore[arg-type]


def on_clock(client: stripe.StripeClient, *object_ids: str, kind: str | None = None) -> list[Any]:
    """Events about these objects stamped on a clock's time (early 2026), oldest first; every
    page read, however many other tests' events the server holds."""
    params: dict[str, Any] = {"limit": 100, "created": {"gte": JAN_1, "lt": JAN_1 + 120 * DAY}}
    if kind is not None:
        params["type"] = kind
    listed = client.v1.events.list(params)  # type: ignore[arg-type]
    found = [e for e in listed.auto_paging_iter() if e.data.object.to_dict().get("id") in object_ids]
    return found[::-1]


def advance(client: stripe.StripeClient, clock: str, to: int) -> Any:
    moving = client.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": to})
    assert moving.status == "advancing"
    assert moving.status_details.advancing.target_frozen_time == to
    done = wait_for(lambda: client.v1.test_helpers.test_clocks.retrieve(clock), lambda c: c.status == "ready", 60)
    assert (done.status, done.frozen_time) == ("ready", to)
    return done


def test_create_retrieve_list_and_delete(client: stripe.StripeClient) -> None:
    clock = make_clock(client, name="Renewals")
    assert clock.id.startswith("clock_") and clock.object == "test_helpers.test_clock"
    assert (clock.frozen_time, clock.name, clock.status, clock.livemode) == (JAN_1, "Renewals", "ready", False)
    assert clock.deletes_after - clock.created == 30 * DAY
    assert clock.to_dict()["status_details"] == {}
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).to_dict() == clock.to_dict()
    listed = client.v1.test_helpers.test_clocks.list({"limit": 100}).data
    assert clock.id in [c.id for c in listed]
    assert events_for(client, clock.id, "test_helpers.test_clock.created")
    gone = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert (gone.id, gone.deleted) == (clock.id, True)
    missing = refused(client.v1.test_helpers.test_clocks.retrieve, clock.id)
    assert isinstance(missing, stripe.InvalidRequestError) and missing.http_status == 404


def test_bad_input_is_refused(client: stripe.StripeClient) -> None:
    error = refused(client.v1.test_helpers.test_clocks.create, {})
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.param) == (400, "frozen_time")
    error = refused(client.v1.customers.create, {"test_clock": "clock_nope"})
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.param) == (404, "test_clock")
    clock = make_clock(client)
    error = refused(client.v1.test_helpers.test_clocks.advance, clock.id, {"frozen_time": JAN_1 - DAY})
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.param) == (400, "frozen_time")
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == JAN_1
    error = refused(client.v1.test_helpers.test_clocks.advance, "clock_nope", {"frozen_time": FEB_1})
    assert isinstance(error, stripe.InvalidRequestError) and error.http_status == 404


def test_a_monthly_subscription_renews_when_the_clock_moves_a_month(client: stripe.StripeClient) -> None:
    clock = make_clock(client)
    cus = clock_customer(client, clock.id)
    assert client.v1.customers.retrieve(cus).created == JAN_1
    assert [c.id for c in client.v1.customers.list({"test_clock": clock.id}).data] == [cus]
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client)}]})
    assert (sub.status, sub.start_date, sub.test_clock) == ("active", JAN_1, clock.id)
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (JAN_1, FEB_1)
    first = invoice(client, sub.latest_invoice)
    assert (first.status, first.created) == ("paid", JAN_1)

    advance(client, clock.id, FEB_1 + 3600)
    renewed = client.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"].data[0]
    assert (renewed.status, item.current_period_start, item.current_period_end) == ("active", FEB_1, MAR_1)
    second = invoice(client, renewed.latest_invoice)
    assert second.id != first.id
    assert (second.status, second.amount_paid, second.billing_reason) == ("paid", 1000, "subscription_cycle")
    assert second.created == FEB_1
    charges = client.v1.charges.list({"customer": cus}).data
    assert len(charges) == 2 and all(c.paid for c in charges)
    txn = client.v1.balance_transactions.retrieve(str(charges[0].balance_transaction))
    assert (txn.amount, txn.type) == (1000, "charge")
    advancing = events_for(client, clock.id, "test_helpers.test_clock.advancing")
    ready = events_for(client, clock.id, "test_helpers.test_clock.ready")
    assert len(advancing) == len(ready) == 1
    assert advancing[0].data.object.status == "advancing" and ready[0].data.object.status == "ready"
    assert ready[0].created >= advancing[0].created
    updated = on_clock(client, sub.id, kind="customer.subscription.updated")
    assert updated and updated[-1].created == FEB_1


def test_a_trial_ends_on_the_clock(client: stripe.StripeClient) -> None:
    clock = make_clock(client)
    cus = clock_customer(client, clock.id)
    sub = client.v1.subscriptions.create(
        {"customer": cus, "items": [{"price": price(client)}], "trial_period_days": 7}
    )
    assert (sub.status, sub.trial_end) == ("trialing", JAN_1 + 7 * DAY)
    advance(client, clock.id, JAN_1 + 5 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    notices = on_clock(client, sub.id, kind="customer.subscription.trial_will_end")
    assert [e.created for e in notices] == [JAN_1 + 4 * DAY]
    advance(client, clock.id, JAN_1 + 8 * DAY)
    converted = client.v1.subscriptions.retrieve(sub.id)
    assert converted.status == "active"
    paid = invoice(client, converted.latest_invoice)
    assert (paid.status, paid.amount_paid, paid.created) == ("paid", 1000, JAN_1 + 7 * DAY)
    assert len(on_clock(client, sub.id, kind="customer.subscription.trial_will_end")) == 1


def test_an_advance_is_limited_to_two_intervals(client: stripe.StripeClient) -> None:
    clock = make_clock(client)
    cus = clock_customer(client, clock.id)
    client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client, interval="week")}]})
    error = refused(client.v1.test_helpers.test_clocks.advance, clock.id, {"frozen_time": JAN_1 + 15 * DAY})
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.param) == (400, "frozen_time")
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready"
    advance(client, clock.id, JAN_1 + 14 * DAY)
    paid = client.v1.invoices.list({"customer": cus, "status": "paid"}).data
    assert len(paid) == 3


def test_deleting_a_clock_deletes_its_customers(client: stripe.StripeClient) -> None:
    clock = make_clock(client)
    cus = clock_customer(client, clock.id)
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client)}]})
    client.v1.test_helpers.test_clocks.delete(clock.id)
    assert client.v1.customers.retrieve(cus).to_dict().get("deleted") is True
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert events_for(client, clock.id, "test_helpers.test_clock.deleted")


def test_an_unpaid_first_invoice_expires_and_drafts_finalize_on_the_clock(client: stripe.StripeClient) -> None:
    clock = make_clock(client)
    declined = clock_customer(client, clock.id, "pm_card_chargeCustomerFail")
    sub = client.v1.subscriptions.create({"customer": declined, "items": [{"price": price(client)}]})
    assert sub.status == "incomplete"
    payer = clock_customer(client, clock.id)
    client.v1.invoice_items.create({"customer": payer, "amount": 500, "currency": "usd"})
    draft = client.v1.invoices.create(
        {"customer": payer, "auto_advance": True, "pending_invoice_items_behavior": "include"}
    )
    assert (draft.status, draft.created, draft.automatically_finalizes_at) == ("draft", JAN_1, JAN_1 + 3600)
    advance(client, clock.id, JAN_1 + 2 * 3600)
    paid = invoice(client, draft.id)
    assert (paid.status, paid.amount_paid, paid.status_transitions.finalized_at) == ("paid", 500, JAN_1 + 3600)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    advance(client, clock.id, JAN_1 + DAY)
    expired = client.v1.subscriptions.retrieve(sub.id)
    assert (expired.status, expired.ended_at) == ("incomplete_expired", JAN_1 + 23 * 3600)
    assert invoice(client, expired.latest_invoice).status == "void"
