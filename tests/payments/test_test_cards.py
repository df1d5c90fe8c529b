"""Stripe's test cards, end to end: each named test id, its tok_ twin and its raw number
behave as Stripe documents them when a PaymentIntent is confirmed with them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

# name -> (card number, what confirming a 20.00 USD PaymentIntent does)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "visa": ("4242424242424242", {"status": "succeeded", "brand": "visa"}),
    "mastercard": ("5555555555554444", {"status": "succeeded", "brand": "mastercard"}),
    "amex": ("378282246310005", {"status": "succeeded", "brand": "amex"}),
    "chargeDeclined": ("4000000000000002", {"code": "card_declined", "decline_code": "generic_decline"}),
    "chargeDeclinedInsufficientFunds": (
        "4000000000009995",
        {"code": "card_declined", "decline_code": "insufficient_funds"},
    ),
    "chargeDeclinedExpiredCard": ("4000000000000069", {"code": "expired_card", "decline_code": "expired_card"}),
    "authenticationRequired": ("4000002760003184", {"status": "requires_action"}),
    "threeDSecure2Required": ("4000000000003220", {"status": "requires_action"}),
    "chargeCustomerFail": ("4000000000000341", {"code": "card_declined", "decline_code": "generic_decline"}),
    "createDispute": ("4000000000000259", {"status": "succeeded", "brand": "visa"}),
    "radarBlock": ("4100000000000019", {"code": "card_declined", "outcome_type": "blocked"}),
    "bypassPending": ("4000000000000077", {"status": "succeeded", "available_now": True}),
}


def _confirm(client: stripe.StripeClient, how: dict[str, Any]) -> Any:
    return client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "confirm": True, "return_url": "https://example.com/done", **how}
    )


def _check(client: stripe.StripeClient, how: dict[str, Any], expected: dict[str, Any]) -> None:
    if "code" in expected:
        with pytest.raises(stripe.CardError) as raised:
            _confirm(client, how)
        error = raised.value
        assert error.http_status == 402
        assert error.code == expected["code"]
        if "decline_code" in expected:
            assert error.error is not None and error.error.decline_code == expected["decline_code"]
        assert error.error is not None and error.error.payment_intent is not None
        intent = client.v1.payment_intents.retrieve(error.error.payment_intent.id)
        assert intent.status == "requires_payment_method"
        assert intent.last_payment_error is not None
        if "outcome_type" in expected:
            charge = client.v1.charges.retrieve(str(intent.last_payment_error.charge))
            assert charge.outcome is not None and charge.outcome.type == expected["outcome_type"]
        return
    intent = _confirm(client, how)
    assert intent.status == expected["status"]
    if intent.status == "requires_action":
        assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
        return
    charge = client.v1.charges.retrieve(str(intent.latest_charge), {"expand": ["balance_transaction"]})
    assert charge.payment_method_details is not None and charge.payment_method_details.card is not None
    assert charge.payment_method_details.card.brand == expected["brand"] if "brand" in expected else True
    if expected.get("available_now"):
        assert charge.balance_transaction.status == "available"
    else:
        assert charge.balance_transaction.status == "pending"


@pytest.mark.parametrize("name", sorted(CASES))
def test_payment_method_test_id(client: stripe.StripeClient, name: str) -> None:
    _check(client, {"payment_method": f"pm_card_{name}"}, CASES[name][1])


@pytest.mark.parametrize("name", sorted(set(CASES) - {"authenticationRequired"}))
def test_token_twin(client: stripe.StripeClient, name: str) -> None:
    how = {"payment_method_data": {"type": "card", "card": {"token": f"tok_{name}"}}}
    _check(client, how, CASES[name][1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_raw_test_number(client: stripe.StripeClient, name: str) -> None:
    card = {"number": CASES[name][0], "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    _check(client, {"payment_method_data": {"type": "card", "card": card}}, CASES[name][1])


def test_each_use_of_a_test_id_makes_a_new_payment_method(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "twice@example.com"})
    first = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    assert first.id != second.id and first.id.startswith("pm_") and second.id.startswith("pm_")
    assert first.card is not None and first.card.last4 == "4242"
    saved = client.v1.customers.payment_methods.list(customer.id)
    assert {pm.id for pm in saved.data} == {first.id, second.id}


def test_0341_attaches_then_fails_to_charge(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "0341@example.com"})
    method = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    assert method.customer == customer.id
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            {"amount": 1500, "currency": "usd", "customer": customer.id, "payment_method": method.id,
             "confirm": True}
        )
    assert raised.value.code == "card_declined"


def test_3155_needs_authentication_unless_set_up(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "3155@example.com"})
    intent = client.v1.payment_intents.create(
        {"amount": 1500, "currency": "usd", "customer": customer.id,
         "payment_method": "pm_card_authenticationRequiredOnSetup", "confirm": True,
         "return_url": "https://example.com/done"}
    )
    assert intent.status == "requires_action"
