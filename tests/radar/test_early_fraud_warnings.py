"""Early fraud warnings, as Stripe's test card 4000000000005423 produces them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe


def pay(client: stripe.StripeClient, method: str) -> tuple[Any, Any]:
    intent = client.v1.payment_intents.create(
        {"amount": 3000, "currency": "usd", "payment_method": method, "confirm": True}
    )
    assert intent.status == "succeeded"
    return intent, client.v1.charges.retrieve(str(intent.latest_charge))


def warnings_for(client: stripe.StripeClient, charge_id: str, wait: bool = True) -> list[Any]:
    deadline = time.monotonic() + (15 if wait else 0)
    while True:
        found = client.v1.radar.early_fraud_warnings.list({"charge": charge_id}).data
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.2)


def refused(call: Callable[[], Any]) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def test_the_test_card_gets_an_early_fraud_warning(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, "pm_card_createIssuerFraudRecord")
    [warning] = warnings_for(client, charge.id)
    assert warning.id.startswith("issfr_")
    assert warning.object == "radar.early_fraud_warning"
    assert warning.actionable is True
    assert warning.fraud_type == "made_with_stolen_card"
    assert warning.charge == charge.id and warning.payment_intent == intent.id
    assert warning.livemode is False
    again = client.v1.radar.early_fraud_warnings.retrieve(warning.id)
    assert again.to_dict() == warning.to_dict()
    by_intent = client.v1.radar.early_fraud_warnings.list({"payment_intent": intent.id}).data
    assert [w.id for w in by_intent] == [warning.id]
    expanded = client.v1.radar.early_fraud_warnings.retrieve(warning.id, {"expand": ["charge"]})
    assert expanded.charge.id == charge.id
    events = client.v1.events.list({"type": "radar.early_fraud_warning.created", "limit": 20}).data
    assert warning.id in [e.data.object.to_dict().get("id") for e in events]


def test_a_fully_refunded_charge_is_no_longer_actionable(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createIssuerFraudRecord")
    [warning] = warnings_for(client, charge.id)
    client.v1.refunds.create({"charge": charge.id})
    assert client.v1.radar.early_fraud_warnings.retrieve(warning.id).actionable is False


def test_an_ordinary_card_gets_none(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_visa")
    time.sleep(1.5)
    assert warnings_for(client, charge.id, wait=False) == []


def test_bad_requests(client: stripe.StripeClient) -> None:
    missing = refused(lambda: client.v1.radar.early_fraud_warnings.retrieve("issfr_missing"))
    assert missing.http_status == 404 and missing.code == "resource_missing"
    unknown = refused(lambda: client.v1.radar.early_fraud_warnings.list(
        {"customer": "cus_x"}))  # type: ignore[typeddict-unknown-key]
    assert unknown.param == "customer"
    bad_limit = refused(lambda: client.v1.radar.early_fraud_warnings.list({"limit": 0}))
    assert bad_limit.param == "limit"
