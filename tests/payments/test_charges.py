"""Charges, as the Stripe docs' own examples use them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe


def pay(client: stripe.StripeClient, amount: int = 2000, **extra: Any) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True, **extra}
    )


def refused(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def test_retrieve_a_charge_of_a_payment(client: stripe.StripeClient) -> None:
    intent = pay(client, receipt_email="jenny@example.com", statement_descriptor_suffix="ORDER 42")
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.id.startswith("ch_") and charge.object == "charge"
    assert charge.receipt_email == "jenny@example.com"
    assert charge.calculated_statement_descriptor == "BILLFOLD* ORDER 42"
    assert charge.receipt_url and charge.id in charge.receipt_url
    assert charge.disputed is False and charge.refunded is False
    assert charge.billing_details.to_dict()["name"] is None
    # Since 2022-11-15 a charge leaves its refunds out unless they are expanded.
    assert "refunds" not in charge.to_dict()

    missing = refused(lambda: client.v1.charges.retrieve("ch_missing"))
    assert (missing.http_status, missing.code, missing.param) == (404, "resource_missing", "id")


def test_refunds_are_included_when_expanded(client: stripe.StripeClient) -> None:
    intent = pay(client)
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
    charge = client.v1.charges.retrieve(str(intent.latest_charge), {"expand": ["refunds"]})
    refunds = charge.refunds
    assert refunds is not None
    assert [r.id for r in refunds.data] == [refund.id]
    assert refunds.url == f"/v1/charges/{charge.id}/refunds"
    assert (charge.amount_refunded, charge.refunded) == (500, False)


def test_list_charges_by_payment_intent_and_customer(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "list@example.com"})
    first = pay(client, 1000, customer=customer.id)
    second = pay(client, 1100, customer=customer.id)
    listed = client.v1.charges.list({"customer": customer.id, "limit": 1})
    assert [c.id for c in listed.data] == [second.latest_charge]
    assert listed.has_more is True and listed.url == "/v1/charges"
    rest = client.v1.charges.list({"customer": customer.id, "starting_after": listed.data[0].id})
    assert [c.id for c in rest.data] == [first.latest_charge]
    by_intent = client.v1.charges.list({"payment_intent": first.id})
    assert [c.amount for c in by_intent.data] == [1000]


def test_update_a_charge(client: stripe.StripeClient) -> None:
    charge_id = str(pay(client).latest_charge)
    updated = client.v1.charges.update(
        charge_id,
        {
            "description": "Two books",
            "metadata": {"order": "6735"},
            "fraud_details": {"user_report": "safe"},
            "shipping": {"name": "Jenny Rosen", "address": {"line1": "510 Townsend St", "country": "US"},
                         "carrier": "UPS", "tracking_number": "1Z999"},
        },
    )
    assert updated.description == "Two books"
    assert updated.metadata.to_dict() == {"order": "6735"}
    assert updated.fraud_details is not None and updated.fraud_details.to_dict() == {"user_report": "safe"}
    assert updated.shipping is not None and updated.shipping.tracking_number == "1Z999"
    events = [
        e for e in client.v1.events.list({"limit": 100}).data
        if e.type == "charge.updated" and e.to_dict()["data"]["object"].get("id") == charge_id
    ]
    assert len(events) == 1
    previous = events[0].data.previous_attributes
    assert previous is not None and previous.to_dict()["description"] is None

    bad = refused(lambda: client.v1.charges.update(charge_id, {"fraud_details": {"user_report": "maybe"}}))
    assert bad.param == "fraud_details[user_report]"
    unknown = refused(lambda: client.v1.charges.update(charge_id, {"amount": 5}))  # type: ignore[typeddict-unknown-key]
    assert unknown.param == "amount"
    assert client.v1.charges.retrieve(charge_id).amount == 2000


def test_capture_an_uncaptured_charge(client: stripe.StripeClient) -> None:
    intent = pay(client, 4000, capture_method="manual")
    charge_id = str(intent.latest_charge)
    too_much = refused(lambda: client.v1.charges.capture(charge_id, {"amount": 4001}))
    assert too_much.param == "amount"
    captured = client.v1.charges.capture(charge_id, {"amount": 2500})
    assert (captured.captured, captured.amount_captured, captured.amount_refunded) == (True, 2500, 1500)
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    again = refused(lambda: client.v1.charges.capture(charge_id))
    assert again.code == "charge_already_captured"
