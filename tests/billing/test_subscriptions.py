"""Subscriptions, as the Stripe docs' own examples use them: paid at once, trials, declines under
each payment_behavior, cancel and pause, the period on each item (or on the subscription for
older versions), and the input Stripe refuses."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe

OLD = {"stripe_version": "2024-04-10"}
MONTH = 31 * 86_400


def price(client: stripe.StripeClient, amount: int = 1000, interval: str = "month", **extra: Any) -> str:
    product = client.v1.products.create({"name": extra.pop("name", "Pro plan")}).id
    params: dict[str, Any] = {
        "currency": "usd", "unit_amount": amount, "product": product,
        "recurring": {"interval": interval, **extra},
    }
    return client.v1.prices.create(params).id  # type: ignore[arg-type]


def customer(client: stripe.StripeClient, card: str | None = "pm_card_visa") -> str:
    if card is None:
        return client.v1.customers.create({"email": "jenny@example.com"}).id
    made = client.v1.customers.create(
        {"email": "jenny@example.com", "payment_method": card,
         "invoice_settings": {"default_payment_method": card}}
    )
    return made.id


def subscribe(client: stripe.StripeClient, **params: Any) -> stripe.Subscription:
    params.setdefault("customer", customer(client))
    params.setdefault("items", [{"price": price(client)}])
    return client.v1.subscriptions.create(params)  # type: ignore[arg-type]


def events_for(client: stripe.StripeClient, object_id: str, kind: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"type": kind, "limit": 100}).data
    return [e for e in listed if e.data.object.to_dict().get("id") == object_id]


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 25) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def invoice(client: stripe.StripeClient, invoice_id: Any) -> stripe.Invoice:
    return client.v1.invoices.retrieve(str(invoice_id))


def refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_a_subscription_paid_at_once(client: stripe.StripeClient) -> None:
    cus = customer(client)
    pri = price(client, 1500)
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": pri, "quantity": 2}]})
    assert sub.id.startswith("sub_") and sub.object == "subscription"
    assert sub.status == "active"
    assert sub.customer == cus and sub.currency == "usd"
    assert sub.collection_method == "charge_automatically"
    assert sub.cancel_at_period_end is False and sub.canceled_at is None
    item = sub["items"].data[0]
    assert item.id.startswith("si_") and item.price.id == pri and item.quantity == 2
    assert item.plan.id == pri and item.plan.amount == 1500
    assert item.current_period_start == sub.start_date == sub.billing_cycle_anchor
    assert 28 * 86_400 <= item.current_period_end - item.current_period_start <= MONTH
    assert "current_period_end" not in sub.to_dict()
    paid = invoice(client, sub.latest_invoice)
    assert (paid.status, paid.amount_paid, paid.billing_reason) == ("paid", 3000, "subscription_create")
    intents = client.v1.payment_intents.list({"customer": cus}).data
    assert [i.status for i in intents] == ["succeeded"]
    charge = client.v1.charges.retrieve(str(intents[0].latest_charge))
    ledger = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert (ledger.amount, ledger.type) == (3000, "charge")
    assert events_for(client, sub.id, "customer.subscription.created")
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_send_invoice_subscriptions_are_active_with_an_open_invoice(client: stripe.StripeClient) -> None:
    sub = subscribe(client, customer=customer(client, None), collection_method="send_invoice", days_until_due=14)
    assert (sub.status, sub.days_until_due) == ("active", 14)
    sent = invoice(client, sub.latest_invoice)
    assert (sent.status, sent.collection_method, sent.amount_due) == ("open", "send_invoice", 1000)


def test_a_trial_starts_with_a_free_invoice(client: stripe.StripeClient) -> None:
    sub = subscribe(client, trial_period_days=14)
    assert sub.status == "trialing"
    assert sub.trial_end is not None and sub.trial_start is not None
    assert sub.trial_end - sub.trial_start == 14 * 86_400
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (sub.trial_start, sub.trial_end)
    first = invoice(client, sub.latest_invoice)
    assert (first.status, first.amount_due, first.total) == ("paid", 0, 0)
    assert sub.trial_settings.end_behavior.missing_payment_method == "create_invoice"


def test_error_if_incomplete_refuses_a_declined_card_and_keeps_nothing(client: stripe.StripeClient) -> None:
    cus = customer(client, "pm_card_chargeCustomerFail")
    error = refused(subscribe, client, customer=cus, payment_behavior="error_if_incomplete")
    assert isinstance(error, stripe.CardError)
    assert (error.http_status, error.code) == (402, "card_declined")
    assert client.v1.subscriptions.list({"customer": cus, "status": "all"}).data == []


def test_error_if_incomplete_refuses_a_card_that_needs_authentication(client: stripe.StripeClient) -> None:
    cus = customer(client, "pm_card_threeDSecure2Required")
    error = refused(subscribe, client, customer=cus, payment_behavior="error_if_incomplete")
    assert isinstance(error, stripe.CardError)
    assert error.code == "subscription_payment_intent_requires_action"
    assert client.v1.subscriptions.list({"customer": cus, "status": "all"}).data == []


def test_allow_incomplete_keeps_a_declined_subscription_incomplete(client: stripe.StripeClient) -> None:
    sub = subscribe(client, customer=customer(client, "pm_card_chargeCustomerFail"))
    assert sub.status == "incomplete"
    unpaid = invoice(client, sub.latest_invoice)
    assert (unpaid.status, unpaid.attempt_count) == ("open", 1)
    refused_update = refused(client.v1.subscriptions.update, sub.id, {"cancel_at_period_end": True})
    assert isinstance(refused_update, stripe.InvalidRequestError)
    assert client.v1.subscriptions.update(sub.id, {"metadata": {"k": "v"}}).metadata.to_dict() == {"k": "v"}


def test_default_incomplete_waits_for_the_client_to_confirm(client: stripe.StripeClient) -> None:
    cus = customer(client)
    sub = subscribe(client, customer=cus, payment_behavior="default_incomplete")
    assert sub.status == "incomplete"
    assert invoice(client, sub.latest_invoice).status == "open"
    intent = client.v1.payment_intents.list({"customer": cus}).data[0]
    assert intent.status in ("requires_payment_method", "requires_confirmation")
    method = client.v1.customers.payment_methods.list(cus).data[0].id
    client.v1.payment_intents.confirm(intent.id, {"payment_method": method})
    active = client.v1.subscriptions.retrieve(sub.id)
    assert active.status == "active"
    assert invoice(client, active.latest_invoice).status == "paid"
    updated = events_for(client, sub.id, "customer.subscription.updated")
    assert any(e.data.to_dict().get("previous_attributes", {}).get("status") == "incomplete" for e in updated)


def test_cancel_now_and_at_period_end(client: stripe.StripeClient) -> None:
    later = subscribe(client)
    marked = client.v1.subscriptions.update(later.id, {"cancel_at_period_end": True})
    assert (marked.status, marked.cancel_at_period_end) == ("active", True)
    assert marked.canceled_at is not None
    assert marked.cancellation_details.reason == "cancellation_requested"
    kept = client.v1.subscriptions.update(later.id, {"cancel_at_period_end": False})
    assert (kept.canceled_at, kept.cancellation_details.reason) == (None, None)

    now = subscribe(client)
    canceled = client.v1.subscriptions.cancel(
        now.id, {"cancellation_details": {"comment": "Too pricey", "feedback": "too_expensive"}}
    )
    assert canceled.status == "canceled"
    assert canceled.canceled_at == canceled.ended_at
    assert canceled.cancellation_details.feedback == "too_expensive"
    assert canceled.cancellation_details.comment == "Too pricey"
    assert events_for(client, now.id, "customer.subscription.deleted")
    again = refused(client.v1.subscriptions.cancel, now.id)
    assert isinstance(again, stripe.InvalidRequestError)
    assert client.v1.subscriptions.update(now.id, {"metadata": {"why": "price"}}).metadata["why"] == "price"


def test_pause_collection_and_clear_it(client: stripe.StripeClient) -> None:
    sub = subscribe(client)
    paused = client.v1.subscriptions.update(sub.id, {"pause_collection": {"behavior": "keep_as_draft"}})
    assert paused.status == "active"
    assert paused.pause_collection is not None
    assert (paused.pause_collection.behavior, paused.pause_collection.resumes_at) == ("keep_as_draft", None)
    cleared = client.v1.subscriptions.update(sub.id, {"pause_collection": ""})
    assert cleared.pause_collection is None
    bad = refused(client.v1.subscriptions.update, sub.id, {"pause_collection": {"behavior": "sleep"}})
    assert isinstance(bad, stripe.InvalidRequestError) and bad.param == "pause_collection[behavior]"


def test_older_versions_show_the_period_on_the_subscription(client: stripe.StripeClient) -> None:
    sub = subscribe(client)
    old = client.v1.subscriptions.retrieve(sub.id, options=OLD)  # type: ignore[arg-type]
    item = sub["items"].data[0]
    shown = old.to_dict()
    assert shown["current_period_start"] == item.current_period_start
    assert shown["current_period_end"] == item.current_period_end
    assert "current_period_start" not in shown["items"]["data"][0]
    assert shown["discount"] is None
    assert "aggregate_usage" in shown["items"]["data"][0]["plan"]
    new = client.v1.subscriptions.retrieve(sub.id).to_dict()
    assert "discount" not in new and "current_period_start" not in new
    old_item = client.v1.subscription_items.retrieve(item.id, options=OLD)  # type: ignore[arg-type]
    assert "current_period_end" not in old_item.to_dict()


def test_list_filters(client: stripe.StripeClient) -> None:
    cus = customer(client)
    pri = price(client)
    first = subscribe(client, customer=cus, items=[{"price": pri}])
    second = subscribe(client, customer=cus)
    client.v1.subscriptions.cancel(second.id)
    assert [s.id for s in client.v1.subscriptions.list({"customer": cus}).data] == [first.id]
    assert [s.id for s in client.v1.subscriptions.list({"customer": cus, "status": "all"}).data] == [second.id, first.id]
    assert [s.id for s in client.v1.subscriptions.list({"customer": cus, "status": "canceled"}).data] == [second.id]
    assert [s.id for s in client.v1.subscriptions.list({"customer": cus, "status": "ended"}).data] == [second.id]
    assert [s.id for s in client.v1.subscriptions.list({"price": pri}).data] == [first.id]
    end = first["items"].data[0].current_period_end
    ranged = client.v1.subscriptions.list({"customer": cus, "current_period_end": {"gte": end}})
    assert [s.id for s in ranged.data] == [first.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"items": [{"price": "price_missing"}]}, "items[0][price]"),
        ({"items": [{"quantity": 1}]}, "items[0][price]"),
        ({"items": [{"price": "P", "quantity": -1}]}, "items[0][quantity]"),
        ({"items": []}, "items"),
        ({"trial_end": 1_000_000}, "trial_end"),
        ({"trial_end": "now", "trial_period_days": 3}, "trial_period_days"),
        ({"customer": "cus_missing"}, "customer"),
        ({"default_payment_method": "pm_card_visa"}, "default_payment_method"),
        ({"payment_behavior": "sometimes"}, "payment_behavior"),
        ({"payment_behavior": "pending_if_incomplete"}, "payment_behavior"),
        ({"collection_method": "charge_automatically", "days_until_due": 3}, "days_until_due"),
        ({"coupon": "ANY"}, "coupon"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    cus = customer(client)
    good = price(client)
    if "items" in params:
        params["items"] = [{**i, "price": good} if i.get("price") == "P" else i for i in params["items"]]
    params = {"customer": cus, "items": [{"price": good}], **params}
    error = refused(client.v1.subscriptions.create, params)
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.param) == (400, param)
    assert client.v1.subscriptions.list({"customer": cus, "status": "all"}).data == []


def test_prices_that_cannot_be_combined(client: stripe.StripeClient) -> None:
    cus = customer(client)
    one_time = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 500, "product": client.v1.products.create({"name": "Setup"}).id}
    ).id
    error = refused(subscribe, client, customer=cus, items=[{"price": one_time}])
    assert isinstance(error, stripe.InvalidRequestError) and error.param == "items[0][price]"
    monthly, yearly = price(client), price(client, 10_000, "year")
    error = refused(subscribe, client, customer=cus, items=[{"price": monthly}, {"price": yearly}])
    assert isinstance(error, stripe.InvalidRequestError) and "interval" in str(error.user_message)
    assert client.v1.subscriptions.list({"customer": cus, "status": "all"}).data == []


def test_missing_subscription_is_404(client: stripe.StripeClient) -> None:
    error = refused(client.v1.subscriptions.retrieve, "sub_missing")
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.code) == (404, "resource_missing")


def test_a_coupon_discounts_the_subscription(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 25, "duration": "forever"})
    sub = subscribe(client, discounts=[{"coupon": coupon.id}], expand=["discounts"])
    (discount,) = sub.discounts
    assert isinstance(discount, stripe.Discount) and discount.source.coupon == coupon.id
    assert discount.subscription == sub.id
    paid = invoice(client, sub.latest_invoice)
    assert (paid.subtotal, paid.total, paid.amount_paid) == (1000, 750, 750)
    old = client.v1.subscriptions.retrieve(sub.id, options=OLD)  # type: ignore[arg-type]
    assert old.to_dict()["discount"]["coupon"]["id"] == coupon.id


def test_price_data_makes_an_inline_price(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Inline"}).id
    sub = subscribe(
        client,
        items=[{"price_data": {"currency": "usd", "product": product, "unit_amount": 1234,
                               "recurring": {"interval": "week", "interval_count": 2}}}],
    )
    made = sub["items"].data[0].price
    assert (made.unit_amount, made.active, made.product) == (1234, False, product)
    assert (made.recurring.interval, made.recurring.interval_count) == ("week", 2)
    item = sub["items"].data[0]
    assert item.current_period_end - item.current_period_start == 14 * 86_400
    assert invoice(client, sub.latest_invoice).amount_paid == 1234


def test_a_billing_cycle_anchor_ahead_prorates_the_first_invoice(client: stripe.StripeClient) -> None:
    anchor = int(time.time()) + 10 * 86_400 + 17
    sub = subscribe(client, billing_cycle_anchor=anchor)
    item = sub["items"].data[0]
    assert item.current_period_end == anchor
    start = item.current_period_start
    # The partial period is a share of the month that ends at the anchor.
    moment = time.gmtime(anchor)
    month, year = (moment.tm_mon - 1, moment.tm_year) if moment.tm_mon > 1 else (12, moment.tm_year - 1)
    day = min(moment.tm_mday, calendar.monthrange(year, month)[1])
    previous = calendar.timegm((year, month, day, moment.tm_hour, moment.tm_min, moment.tm_sec))
    share = 1000 * (anchor - start) / (anchor - previous)
    paid = invoice(client, sub.latest_invoice)
    assert paid.amount_paid == int(share + 0.5)


def test_billing_cycle_anchor_now_restarts_the_period(client: stripe.StripeClient) -> None:
    sub = subscribe(client)
    time.sleep(1)
    restarted = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}  # type: ignore[typeddict-item]
    )
    item = restarted["items"].data[0]
    assert restarted.billing_cycle_anchor == item.current_period_start > sub.billing_cycle_anchor
    bill = invoice(client, restarted.latest_invoice)
    assert (bill.billing_reason, bill.total, bill.status) == ("subscription_update", 1000, "paid")


def test_move_and_end_a_trial(client: stripe.StripeClient) -> None:
    sub = subscribe(client, trial_period_days=7)
    later = int(time.time()) + 20 * 86_400
    moved = client.v1.subscriptions.update(sub.id, {"trial_end": later})
    assert (moved.status, moved.trial_end, moved["items"].data[0].current_period_end) == ("trialing", later, later)
    ended = client.v1.subscriptions.update(sub.id, {"trial_end": "now"})
    assert ended.status == "active"
    assert ended.trial_end == ended["items"].data[0].current_period_start == ended.billing_cycle_anchor
    bill = invoice(client, ended.latest_invoice)
    assert (bill.status, bill.amount_paid) == ("paid", 1000)
    assert events_for(client, sub.id, "customer.subscription.trial_will_end")
    past = refused(client.v1.subscriptions.update, sub.id, {"trial_end": 1_000_000})
    assert isinstance(past, stripe.InvalidRequestError) and past.param == "trial_end"


def test_change_the_default_payment_method(client: stripe.StripeClient) -> None:
    cus = customer(client)
    sub = subscribe(client, customer=cus)
    other = client.v1.payment_methods.attach("pm_card_mastercard", {"customer": cus}).id
    changed = client.v1.subscriptions.update(sub.id, {"default_payment_method": other})
    assert changed.default_payment_method == other
    stranger = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}}).id  # type: ignore[typeddict-item]
    error = refused(client.v1.subscriptions.update, sub.id, {"default_payment_method": stranger})
    assert isinstance(error, stripe.InvalidRequestError) and error.param == "default_payment_method"
    assert client.v1.subscriptions.retrieve(sub.id).default_payment_method == other


def test_an_update_that_cannot_be_paid_is_undone_with_error_if_incomplete(client: stripe.StripeClient) -> None:
    cus = customer(client, None)
    sub = subscribe(client, customer=cus, trial_period_days=5)
    client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus})
    item = sub["items"].data[0]
    error = refused(
        client.v1.subscriptions.update, sub.id,
        {"trial_end": "now", "payment_behavior": "error_if_incomplete", "items": [{"id": item.id, "quantity": 2}],
         "default_payment_method": client.v1.customers.payment_methods.list(cus).data[0].id},
    )
    assert isinstance(error, stripe.CardError) and error.http_status == 402
    kept = client.v1.subscriptions.retrieve(sub.id)
    assert (kept.status, kept["items"].data[0].quantity, kept.latest_invoice) == ("trialing", 1, sub.latest_invoice)


def test_older_versions_expand_the_first_payment_intent(client: stripe.StripeClient) -> None:
    params: dict[str, Any] = {
        "customer": customer(client), "items": [{"price": price(client)}],
        "expand": ["latest_invoice.payment_intent"],
    }
    sub = client.v1.subscriptions.create(params, options=OLD)  # type: ignore[arg-type]
    intent = sub.latest_invoice.payment_intent  # type: ignore[union-attr]
    assert (intent.object, intent.status, intent.amount) == ("payment_intent", "succeeded", 1000)


def test_remove_the_subscription_discount(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"amount_off": 200, "currency": "usd", "duration": "forever"})
    sub = subscribe(client, discounts=[{"coupon": coupon.id}])
    gone = client.v1.subscriptions.delete_discount(sub.id)
    assert (gone.object, gone.deleted) == ("discount", True)
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    again = refused(client.v1.subscriptions.delete_discount, sub.id)
    assert isinstance(again, stripe.InvalidRequestError) and again.http_status == 404


def test_default_incomplete_hands_the_client_its_confirmation_secret(client: stripe.StripeClient) -> None:
    sub = subscribe(client, payment_behavior="default_incomplete", expand=["latest_invoice.confirmation_secret"])
    secret = sub.latest_invoice.confirmation_secret  # type: ignore[union-attr]
    assert secret is not None and secret.type == "payment_intent"
    assert secret.client_secret.startswith("pi_")
