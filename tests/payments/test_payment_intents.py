"""PaymentIntents, as the Stripe docs' own examples use them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from tests.support.server import Server


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    """The types of the events about ``object_id``, oldest first."""
    events = client.v1.events.list({"limit": 100}).data
    return [e.type for e in reversed(events) if e.to_dict()["data"]["object"].get("id") == object_id]


def refused(call: Callable[[], Any]) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def declined(call: Callable[[], Any]) -> stripe.CardError:
    with pytest.raises(stripe.CardError) as raised:
        call()
    return raised.value


def test_create_then_confirm_a_card_payment(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "description": "Order #6735", "metadata": {"order": "6735"}}
    )
    assert intent.id.startswith("pi_")
    assert re.fullmatch(rf"{intent.id}_secret_\w+", str(intent.client_secret))
    assert intent.status == "requires_payment_method"
    assert (intent.amount_capturable, intent.amount_received, intent.latest_charge) == (0, 0, None)
    assert intent.payment_method_types == ["card"]
    assert intent.automatic_payment_methods is not None and intent.automatic_payment_methods.enabled
    assert intent.payment_method_options.to_dict()["card"]["request_three_d_secure"] == "automatic"

    with_method = client.v1.payment_intents.update(intent.id, {"payment_method": "pm_card_visa"})
    assert with_method.status == "requires_confirmation"

    paid = client.v1.payment_intents.confirm(intent.id)
    assert paid.status == "succeeded"
    assert paid.amount_received == 2000
    assert paid.last_payment_error is None and paid.next_action is None

    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (2000, 2000, 0)
    assert charge.payment_intent == intent.id
    assert charge.payment_method == paid.payment_method
    assert charge.description == "Order #6735"
    assert charge.metadata.to_dict() == {"order": "6735"}
    outcome = charge.outcome
    assert outcome is not None
    assert (outcome.network_status, outcome.type, outcome.seller_message) == (
        "approved_by_network", "authorized", "Payment complete."
    )
    assert outcome.risk_level == "normal" and 0 <= int(outcome.risk_score or 0) < 65
    card = charge.payment_method_details.card  # type: ignore[union-attr]
    assert (card.brand, card.last4, card.network, card.funding) == ("visa", "4242", "visa", "credit")
    assert card.three_d_secure is None

    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert (txn.amount, txn.fee, txn.net, txn.type, txn.source) == (2000, 88, 1912, "charge", charge.id)
    assert event_types(client, intent.id) == ["payment_intent.created", "payment_intent.succeeded"]
    assert event_types(client, charge.id) == ["charge.succeeded"]


def test_confirm_on_create_expands_the_charge_and_its_balance_transaction(
    client: stripe.StripeClient,
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 1500, "currency": "usd", "payment_method": "pm_card_mastercard", "confirm": True}
    )
    fetched = client.v1.payment_intents.retrieve(
        intent.id, {"expand": ["latest_charge.balance_transaction", "payment_method"]}
    )
    charge = fetched.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert isinstance(charge.balance_transaction, stripe.BalanceTransaction)
    assert charge.balance_transaction.amount == 1500
    assert isinstance(fetched.payment_method, stripe.PaymentMethod)
    assert fetched.payment_method.card.brand == "mastercard"  # type: ignore[union-attr]


def test_manual_capture_in_part_releases_the_rest(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "capture_method": "manual"}
    )
    assert intent.status == "requires_capture"
    assert (intent.amount_capturable, intent.amount_received) == (5000, 0)
    held = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (held.captured, held.paid, held.balance_transaction, held.amount_captured) == (False, True, None, 0)

    too_much = refused(lambda: client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 6000}))
    assert too_much.param == "amount_to_capture"
    assert too_much.code == "amount_too_large"

    captured = client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 3000})
    assert captured.status == "succeeded"
    assert (captured.amount_received, captured.amount_capturable) == (3000, 0)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.captured, charge.amount_captured, charge.amount_refunded, charge.refunded) == (
        True, 3000, 2000, False
    )
    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert (txn.amount, txn.fee) == (3000, 117)
    assert event_types(client, intent.id) == [
        "payment_intent.created", "payment_intent.amount_capturable_updated", "payment_intent.succeeded"
    ]
    assert event_types(client, charge.id) == ["charge.succeeded", "charge.captured"]

    again = refused(lambda: client.v1.payment_intents.capture(intent.id))
    assert again.code == "payment_intent_unexpected_state"
    assert "already been captured" in str(again.user_message)


def test_cancel_releases_an_uncaptured_payment(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "capture_method": "manual"}
    )
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "requested_by_customer"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert canceled.canceled_at is not None and canceled.amount_capturable == 0
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.captured, charge.refunded, charge.amount_refunded) == (False, True, 5000)
    assert "payment_intent.canceled" in event_types(client, intent.id)

    again = refused(lambda: client.v1.payment_intents.cancel(intent.id))
    assert again.http_status == 400
    assert again.code == "payment_intent_unexpected_state"
    assert str(again.user_message) == (
        "You cannot cancel this PaymentIntent because it has a status of canceled. Only a "
        "PaymentIntent with one of the following statuses may be canceled: requires_payment_method, "
        "requires_capture, requires_confirmation, requires_action, processing."
    )
    confirm = refused(lambda: client.v1.payment_intents.confirm(intent.id))
    assert confirm.code == "payment_intent_unexpected_state"


def test_a_succeeded_payment_cannot_be_confirmed_or_changed(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    again = refused(lambda: client.v1.payment_intents.confirm(intent.id))
    assert str(again.user_message) == (
        "You cannot confirm this PaymentIntent because it has already succeeded after being "
        "previously confirmed."
    )
    amount = refused(lambda: client.v1.payment_intents.update(intent.id, {"amount": 3000}))
    assert amount.code == "payment_intent_unexpected_state"
    assert amount.param == "amount"
    updated = client.v1.payment_intents.update(
        intent.id, {"description": "Paid", "metadata": {"note": "thanks"}}
    )
    assert (updated.description, updated.metadata.to_dict()) == ("Paid", {"note": "thanks"})
    assert client.v1.payment_intents.retrieve(intent.id).amount == 2000


@pytest.mark.parametrize(
    ("method", "code", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
         "Your card has insufficient funds."),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    ],
)
def test_a_declined_card_fails_the_attempt(
    client: stripe.StripeClient, method: str, code: str, decline_code: str, message: str
) -> None:
    error = declined(lambda: client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": method, "confirm": True}
    ))
    assert error.http_status == 402
    assert (error.code, error.error.decline_code, error.user_message) == (code, decline_code, message)  # type: ignore[union-attr]
    body = error.json_body["error"]  # type: ignore[index]
    assert body["type"] == "card_error"
    assert body["payment_method"]["object"] == "payment_method"
    failed_intent = body["payment_intent"]
    assert failed_intent["status"] == "requires_payment_method"
    assert failed_intent["payment_method"] is None
    assert failed_intent["last_payment_error"]["decline_code"] == decline_code
    assert failed_intent["last_payment_error"]["payment_method"]["id"] == body["payment_method"]["id"]

    charge = client.v1.charges.retrieve(body["charge"])
    assert (charge.status, charge.paid, charge.failure_code, charge.failure_message) == (
        "failed", False, code, message
    )
    assert charge.balance_transaction is None
    assert charge.outcome is not None
    assert (charge.outcome.network_status, charge.outcome.type, charge.outcome.reason) == (
        "declined_by_network", "issuer_declined", decline_code
    )
    stored = client.v1.payment_intents.retrieve(failed_intent["id"])
    assert stored.status == "requires_payment_method" and stored.latest_charge == charge.id
    assert event_types(client, stored.id) == ["payment_intent.created", "payment_intent.payment_failed"]
    assert event_types(client, charge.id) == ["charge.failed"]

    retried = client.v1.payment_intents.confirm(stored.id, {"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded" and retried.last_payment_error is None


def test_radar_blocks_the_highest_risk_card(client: stripe.StripeClient) -> None:
    error = declined(lambda: client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_radarBlock", "confirm": True}
    ))
    assert error.error.decline_code == "fraudulent"  # type: ignore[union-attr]
    charge = client.v1.charges.retrieve(str(error.error.charge))  # type: ignore[union-attr]
    assert charge.outcome is not None
    assert (charge.outcome.type, charge.outcome.reason, charge.outcome.risk_level) == (
        "blocked", "highest_risk_level", "highest"
    )
    assert charge.outcome.network_status == "not_sent_to_network"


def test_a_saved_card_that_declines_after_attaching(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"payment_method": "pm_card_chargeCustomerFail"})
    method = client.v1.customers.payment_methods.list(customer.id).data[0]
    error = declined(lambda: client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "customer": customer.id, "payment_method": method.id,
         "confirm": True, "off_session": True}
    ))
    assert (error.code, error.error.decline_code) == ("card_declined", "generic_decline")  # type: ignore[union-attr]


def test_setup_future_usage_saves_the_card_to_the_customer(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "jenny@example.com"})
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "customer": customer.id, "payment_method": "pm_card_visa",
         "setup_future_usage": "off_session", "confirm": True}
    )
    assert intent.status == "succeeded" and intent.setup_future_usage == "off_session"
    saved = client.v1.payment_methods.retrieve(str(intent.payment_method))
    assert saved.customer == customer.id
    later = client.v1.payment_intents.create(
        {"amount": 700, "currency": "usd", "customer": customer.id, "payment_method": saved.id,
         "off_session": True, "confirm": True}
    )
    assert later.status == "succeeded"
    listed = client.v1.payment_intents.list({"customer": customer.id})
    assert [i.id for i in listed.data] == [later.id, intent.id]
    assert client.v1.charges.list({"customer": customer.id}).data[0].payment_intent == later.id


def test_a_card_used_without_a_customer_cannot_be_used_again(client: stripe.StripeClient) -> None:
    first = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    again = refused(lambda: client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": str(first.payment_method), "confirm": True}
    ))
    assert again.param == "payment_method"
    assert "may not be used again" in str(again.user_message)


def test_amount_limits_and_zero_decimal_currencies(client: stripe.StripeClient) -> None:
    small = refused(lambda: client.v1.payment_intents.create({"amount": 49, "currency": "usd"}))
    assert (small.code, small.param, small.user_message) == (
        "amount_too_small", "amount", "Amount must be at least $0.50 usd"
    )
    large = refused(lambda: client.v1.payment_intents.create({"amount": 100_000_000, "currency": "usd"}))
    assert (large.code, large.user_message) == ("amount_too_large", "Amount must be no more than $999,999.99")
    yen = refused(lambda: client.v1.payment_intents.create({"amount": 49, "currency": "jpy"}))
    assert yen.user_message == "Amount must be at least ¥50 jpy"

    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "jpy", "payment_method": "pm_card_visa", "confirm": True}
    )
    charge = client.v1.charges.retrieve(str(intent.latest_charge), {"expand": ["balance_transaction"]})
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert (txn.amount, txn.currency, txn.fee) == (1000, "jpy", 29)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 2000}, "currency"),
        ({"currency": "usd"}, "amount"),
        ({"amount": 2000, "currency": "usd", "capture_method": "later"}, "capture_method"),
        ({"amount": 2000, "currency": "usd", "payment_method_types": ["bitcoin"]}, "payment_method_types[0]"),
        ({"amount": 2000, "currency": "usd", "customer": "cus_missing"}, "customer"),
        ({"amount": 2000, "currency": "usd", "payment_method": "pm_missing"}, "payment_method"),
        ({"amount": 2000, "currency": "usd", "off_session": True}, "off_session"),
        ({"amount": 2000, "currency": "usd", "return_url": "https://example.com"}, "return_url"),
        ({"amount": 2000, "currency": "usd", "payment_method_options": {"card": {"request_three_d_secure": "always"}}},
         "payment_method_options[card][request_three_d_secure]"),
    ],
)
def test_bad_input_is_refused_with_its_param(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    before = client.v1.payment_intents.list({"limit": 1}).data
    error = refused(lambda: client.v1.payment_intents.create(params))  # type: ignore[arg-type]
    assert error.http_status in (400, 404)
    assert error.param == param
    assert client.v1.payment_intents.list({"limit": 1}).data == before


def test_confirm_without_a_payment_method_is_refused(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    error = refused(lambda: client.v1.payment_intents.confirm(intent.id))
    assert error.code == "payment_intent_unexpected_state"
    assert "missing a payment method" in str(error.user_message)
    missing = refused(lambda: client.v1.payment_intents.retrieve("pi_missing"))
    assert (missing.http_status, missing.code, missing.param) == (404, "resource_missing", "intent")


def test_publishable_key_needs_the_client_secret(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "metadata": {"secret": "server-only"}}
    )
    seen = public_client.v1.payment_intents.retrieve(intent.id, {"client_secret": str(intent.client_secret)})
    assert seen.status == "requires_payment_method"
    assert "metadata" not in seen.to_dict() and "customer" not in seen.to_dict()

    wrong = refused(lambda: public_client.v1.payment_intents.retrieve(intent.id, {"client_secret": "pi_x_secret_y"}))
    assert wrong.param == "client_secret"
    bare = refused(lambda: public_client.v1.payment_intents.retrieve(intent.id))
    assert bare.param == "client_secret"
    with pytest.raises(stripe.PermissionError):
        public_client.v1.payment_intents.list()

    paid = public_client.v1.payment_intents.confirm(
        intent.id, {"client_secret": str(intent.client_secret), "payment_method": "pm_card_visa"}
    )
    assert paid.status == "succeeded"
    assert client.v1.payment_intents.retrieve(intent.id).amount_received == 2000


def test_manual_confirmation_needs_the_secret_key(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa",
         "confirmation_method": "manual"}
    )
    error = refused(lambda: public_client.v1.payment_intents.confirm(
        intent.id, {"client_secret": str(intent.client_secret)}
    ))
    assert "confirmation_method manual" in str(error.user_message)
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"


def _live_client(server: Server) -> stripe.StripeClient:
    match = re.search(r"sk_live_\w+", server.cli("keys"))
    assert match is not None
    return stripe.StripeClient(match.group(0), base_addresses={"api": server.url}, max_network_retries=0)


def test_live_mode_declines_test_cards(server: Server) -> None:
    live = _live_client(server)
    error = declined(lambda: live.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "confirm": True,
         "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                          "exp_year": 2034, "cvc": "123"}}}
    ))
    assert error.error.decline_code == "live_mode_test_card"  # type: ignore[union-attr]
    assert live.v1.payment_intents.list({"limit": 1}).data == []
