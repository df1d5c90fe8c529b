"""Refunds, as the Stripe docs' own examples use them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe


def pay(client: stripe.StripeClient, amount: int = 2000, method: str = "pm_card_visa",
        **extra: Any) -> tuple[stripe.PaymentIntent, stripe.Charge]:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": method, "confirm": True, **extra}
    )
    return intent, client.v1.charges.retrieve(str(intent.latest_charge))


def refused(call: Callable[[], Any]) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list({"limit": 100}).data
    return [e.type for e in events if e.data.object.to_dict().get("id") == object_id]


def test_refund_a_payment_intent_in_full(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 2000)
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.id.startswith("re_")
    assert refund.object == "refund"
    assert (refund.amount, refund.currency, refund.status) == (2000, "usd", "succeeded")
    assert refund.charge == charge.id
    assert refund.payment_intent == intent.id
    assert refund.payment_method == charge.payment_method
    assert refund.reason is None and refund.receipt_number is None
    assert refund.metadata.to_dict() == {}
    assert refund.to_dict()["destination_details"] == {"card": {"type": "reversal"}, "type": "card"}
    assert "failure_reason" not in refund.to_dict()

    refunded = client.v1.charges.retrieve(charge.id)
    assert refunded.amount_refunded == 2000
    assert refunded.refunded is True

    txn = client.v1.balance_transactions.retrieve(str(refund.balance_transaction))
    assert (txn.amount, txn.fee, txn.net, txn.type, txn.source) == (-2000, 0, -2000, "refund", refund.id)
    # Stripe keeps the processing fee of the payment.
    assert client.v1.balance_transactions.retrieve(str(charge.balance_transaction)).fee == 88

    assert "refund.created" in event_types(client, refund.id)
    assert "charge.refunded" in event_types(client, charge.id)
    [charge_event] = [
        e for e in client.v1.events.list({"limit": 100}).data
        if e.type == "charge.refunded" and e.data.object.to_dict().get("id") == charge.id
    ]
    assert charge_event.data.object["amount_refunded"] == 2000
    assert charge_event.data.object["refunded"] is True
    assert charge_event.data.previous_attributes.to_dict() == {"amount_refunded": 0, "refunded": False}

    again = refused(lambda: client.v1.refunds.create({"payment_intent": intent.id}))
    assert again.http_status == 400
    assert again.code == "charge_already_refunded"
    assert str(again.user_message) == f"Charge {charge.id} has already been refunded."


def test_partial_refunds_until_nothing_remains(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1000)
    first = client.v1.refunds.create(
        {"charge": charge.id, "amount": 300, "reason": "requested_by_customer",
         "metadata": {"order_id": "6735"}}
    )
    assert first.amount == 300 and first.reason == "requested_by_customer"
    assert first.metadata.to_dict() == {"order_id": "6735"}
    assert first.payment_intent == intent.id
    partly = client.v1.charges.retrieve(charge.id)
    assert (partly.amount_refunded, partly.refunded) == (300, False)

    too_much = refused(lambda: client.v1.refunds.create({"charge": charge.id, "amount": 701}))
    assert too_much.http_status == 400
    assert too_much.code == "amount_too_large"
    assert too_much.param == "amount"
    assert str(too_much.user_message) == (
        "Refund amount ($7.01) is greater than unrefunded amount on charge ($7.00)"
    )
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 300

    rest = client.v1.refunds.create({"payment_intent": intent.id})
    assert rest.amount == 700
    done = client.v1.charges.retrieve(charge.id)
    assert (done.amount_refunded, done.refunded) == (1000, True)

    listed = client.v1.refunds.list({"charge": charge.id})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    assert listed.url == "/v1/refunds"
    by_intent = client.v1.refunds.list({"payment_intent": intent.id, "limit": 1})
    assert [r.id for r in by_intent.data] == [rest.id] and by_intent.has_more is True


def test_retrieve_update_and_expand(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1500)
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500,
                                       "metadata": {"a": "1", "b": "2"}})
    fetched = client.v1.refunds.retrieve(
        refund.id, {"expand": ["balance_transaction", "charge", "payment_intent"]}
    )
    assert isinstance(fetched.balance_transaction, stripe.BalanceTransaction)
    assert fetched.balance_transaction.amount == -500
    assert isinstance(fetched.charge, stripe.Charge) and fetched.charge.id == charge.id
    assert isinstance(fetched.payment_intent, stripe.PaymentIntent)

    updated = client.v1.refunds.update(refund.id, {"metadata": {"a": "", "c": "3"}})
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert updated.amount == 500
    types = event_types(client, refund.id)
    assert "refund.updated" in types and "charge.refund.updated" in types

    unknown = refused(lambda: client.v1.refunds.update(refund.id, {"amount": 1}))  # type: ignore[typeddict-unknown-key]
    assert unknown.param == "amount"
    missing = refused(lambda: client.v1.refunds.retrieve("re_doesnotexist"))
    assert missing.http_status == 404 and missing.code == "resource_missing"


def test_created_filter(client: stripe.StripeClient) -> None:
    intent, _ = pay(client, 800)
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    now = int(time.time())
    assert refund.id in [r.id for r in client.v1.refunds.list({"created": {"gte": now - 60}}).data]
    assert client.v1.refunds.list({"created": {"gt": now + 3600}}).data == []


def test_bad_requests_change_nothing(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1000)

    error = refused(lambda: client.v1.refunds.create({"amount": 100}))
    assert error.param == "charge" and error.code == "parameter_missing"
    assert str(error.user_message) == "Missing required param: charge."

    error = refused(lambda: client.v1.refunds.create({"charge": charge.id, "payment_intent": intent.id}))
    assert error.http_status == 400

    for amount in (0, -5):
        error = refused(lambda a=amount: client.v1.refunds.create({"charge": charge.id, "amount": a}))
        assert error.param == "amount"

    error = refused(lambda: client.v1.refunds.create({"charge": charge.id, "reason": "changed_mind"}))  # type: ignore[typeddict-item]
    assert error.param == "reason"

    error = refused(lambda: client.v1.refunds.create({"charge": "ch_doesnotexist"}))
    assert error.http_status == 404 and error.param == "charge" and error.code == "resource_missing"

    error = refused(lambda: client.v1.refunds.create({"payment_intent": "pi_doesnotexist"}))
    assert error.http_status == 404 and error.param == "payment_intent"

    error = refused(lambda: client.v1.refunds.create({"charge": charge.id, "refund_amount": 5}))  # type: ignore[typeddict-unknown-key]
    assert error.param == "refund_amount"

    error = refused(lambda: client.v1.refunds.create({"customer": "cus_123", "amount": 5}))
    assert error.param == "customer"

    after = client.v1.charges.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (0, False)
    assert client.v1.refunds.list({"charge": charge.id}).data == []


def test_a_payment_intent_without_a_successful_charge(client: stripe.StripeClient) -> None:
    unconfirmed = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    error = refused(lambda: client.v1.refunds.create({"payment_intent": unconfirmed.id}))
    assert error.http_status == 400
    assert str(error.user_message) == (
        f"This PaymentIntent ({unconfirmed.id}) does not have a successful charge to refund."
    )

    uncaptured, charge = pay(client, 1000, capture_method="manual")
    assert uncaptured.status == "requires_capture"
    error = refused(lambda: client.v1.refunds.create({"payment_intent": uncaptured.id}))
    assert "does not have a successful charge to refund" in str(error.user_message)
    error = refused(lambda: client.v1.refunds.create({"charge": charge.id}))
    assert "does not have a successful charge to refund" in str(error.user_message)


def test_only_refunds_awaiting_action_can_be_canceled(client: stripe.StripeClient) -> None:
    intent, _ = pay(client, 1000)
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    error = refused(lambda: client.v1.refunds.cancel(refund.id))
    assert error.http_status == 400
    assert "requires_action" in str(error.user_message)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    missing = refused(lambda: client.v1.refunds.cancel("re_doesnotexist"))
    assert missing.http_status == 404


def test_idempotent_refund(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1000)
    key = f"refund-{intent.id}"
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 100},
                                     {"idempotency_key": key})
    second = client.v1.refunds.create({"payment_intent": intent.id, "amount": 100},
                                      {"idempotency_key": key})
    assert first.id == second.id
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 100


def test_concurrent_partial_refunds_never_over_refund(client: stripe.StripeClient) -> None:
    _, charge = pay(client, 2000)
    made: list[int] = []
    refusals: list[str | None] = []
    lock = threading.Lock()

    def refund_part() -> None:
        try:
            refund = client.v1.refunds.create({"charge": charge.id, "amount": 300})
            with lock:
                made.append(refund.amount)
        except stripe.InvalidRequestError as exc:
            with lock:
                refusals.append(exc.code)

    threads = [threading.Thread(target=refund_part) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(made) == 1800 and len(made) == 6
    assert refusals == ["amount_too_large", "amount_too_large"]
    after = client.v1.charges.retrieve(charge.id)
    assert after.amount_refunded == sum(made)
    listed = client.v1.refunds.list({"charge": charge.id, "limit": 100}).data
    assert sum(r.amount for r in listed) == 1800
    ledger = client.v1.balance_transactions.list({"type": "refund", "limit": 100}).data
    assert sum(t.amount for t in ledger if t.source in {r.id for r in listed}) == -1800


def test_pending_refund_test_card_succeeds_later(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1000, "pm_card_pendingRefund")
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.status == "pending"
    assert refund.to_dict()["pending_reason"] == "processing"
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 1000

    settled = wait_for(lambda: client.v1.refunds.retrieve(refund.id), lambda r: r.status != "pending")
    assert settled.status == "succeeded"
    assert "pending_reason" not in settled.to_dict()
    assert settled.to_dict()["destination_details"]["card"]["type"] == "reversal"
    types = wait_for(lambda: event_types(client, refund.id), lambda t: "refund.updated" in t)
    assert "refund.updated" in types and "charge.refund.updated" in types


def test_failing_refund_test_card_gives_the_money_back(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1000, "pm_card_refundFail")
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.status == "succeeded"

    failed = wait_for(lambda: client.v1.refunds.retrieve(refund.id), lambda r: r.status == "failed")
    assert failed.status == "failed"
    assert failed.failure_reason == "expired_or_canceled_card"
    back = client.v1.balance_transactions.retrieve(str(failed.failure_balance_transaction))
    assert (back.amount, back.fee, back.net, back.type) == (1000, 0, 1000, "refund_failure")
    assert back.source == refund.id
    after = client.v1.charges.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (0, False)

    types = wait_for(lambda: event_types(client, refund.id), lambda t: "refund.failed" in t)
    assert "refund.failed" in types and "charge.refund.updated" in types
    [event] = [
        e for e in client.v1.events.list({"limit": 100}).data
        if e.type == "refund.failed" and e.data.object.to_dict().get("id") == refund.id
    ]
    assert event.data.previous_attributes.to_dict() == {
        "failure_balance_transaction": None, "failure_reason": None, "status": "succeeded",
    }


def test_a_partial_capture_refunds_only_what_was_captured(client: stripe.StripeClient) -> None:
    intent, _ = pay(client, 1000, capture_method="manual")
    client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 600})
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    # Stripe counts the released 400 as refunded already.
    assert (charge.amount_captured, charge.amount_refunded, charge.refunded) == (600, 400, False)

    too_much = refused(lambda: client.v1.refunds.create({"payment_intent": intent.id, "amount": 601}))
    assert str(too_much.user_message) == (
        "Refund amount ($6.01) is greater than unrefunded amount on charge ($6.00)"
    )
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.amount == 600
    after = client.v1.charges.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (1000, True)


def test_zero_decimal_currency(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 5000, "currency": "jpy", "payment_method": "pm_card_visa", "confirm": True}
    )
    error = refused(lambda: client.v1.refunds.create({"payment_intent": intent.id, "amount": 5001}))
    assert str(error.user_message) == (
        "Refund amount (¥5,001) is greater than unrefunded amount on charge (¥5,000)"
    )
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1250})
    assert (refund.amount, refund.currency) == (1250, "jpy")
    txn = client.v1.balance_transactions.retrieve(str(refund.balance_transaction))
    assert (txn.amount, txn.currency, txn.fee) == (-1250, "jpy", 0)
    charge_txn = client.v1.balance_transactions.retrieve(
        str(client.v1.charges.retrieve(str(intent.latest_charge)).balance_transaction)
    )
    assert charge_txn.fee == 145  # 2.9% of ¥5,000; 30¢ is no whole yen
