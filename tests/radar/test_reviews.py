"""Reviews: payments a Review rule let through, approved or closed by a refund."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.parity.test_shapes import differences, fixture
from tests.radar.conftest import Rules


def reviewed(client: stripe.StripeClient, rules: Rules, **extra: Any) -> stripe.PaymentIntent:
    if not rules.all():
        rules.add("Review if ::review_me:: = 'yes'")
    intent = client.v1.payment_intents.create(
        {"amount": 3000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "metadata": {"review_me": "yes"}, **extra}
    )
    assert intent.status == "succeeded" and intent.review
    return intent


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list({"limit": 100}).data
    return [e.type for e in reversed(events) if e.to_dict()["data"]["object"].get("id") == object_id]


def test_a_review_opens_and_is_approved(client: stripe.StripeClient, rules: Rules) -> None:
    intent = reviewed(client, rules)
    review = client.v1.reviews.retrieve(str(intent.review))
    assert review.id.startswith("prv_") and review.object == "review"
    assert (review.open, review.reason, review.opened_reason, review.closed_reason) == (True, "rule", "rule", None)
    assert (review.charge, review.payment_intent) == (intent.latest_charge, intent.id)
    assert review.id in [r.id for r in client.v1.reviews.list({"limit": 100}).data]
    approved = client.v1.reviews.approve(review.id)
    assert (approved.open, approved.reason, approved.closed_reason) == (False, "approved", "approved")
    assert event_types(client, review.id) == ["review.opened", "review.closed"]
    # Stripe lists open reviews only.
    assert review.id not in [r.id for r in client.v1.reviews.list({"limit": 100}).data]
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.reviews.approve(review.id)
    assert again.value.http_status == 400 and "already closed" in str(again.value.user_message)


def test_refunding_closes_the_review(client: stripe.StripeClient, rules: Rules) -> None:
    intent = reviewed(client, rules)
    client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000})
    closed = client.v1.reviews.retrieve(str(intent.review))
    assert (closed.open, closed.closed_reason, closed.reason) == (False, "refunded", "refunded")
    fraud = reviewed(client, rules)
    client.v1.refunds.create({"payment_intent": fraud.id, "reason": "fraudulent"})
    assert client.v1.reviews.retrieve(str(fraud.review)).closed_reason == "refunded_as_fraud"


def test_expanding_a_review(client: stripe.StripeClient, rules: Rules) -> None:
    intent = reviewed(client, rules)
    charge = client.v1.charges.retrieve(str(intent.latest_charge), {"expand": ["review"]})
    assert charge.to_dict()["review"]["id"] == intent.review
    review = client.v1.reviews.retrieve(str(intent.review), {"expand": ["charge"]})
    assert review.to_dict()["charge"]["id"] == intent.latest_charge


def test_unknown_review(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.reviews.retrieve("prv_missing")
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (404, "resource_missing", "review")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.reviews.approve("prv_missing")


def test_review_shape_matches_stripe_fixture(client: stripe.StripeClient, rules: Rules) -> None:
    review = client.v1.reviews.retrieve(str(reviewed(client, rules).review))
    # payment_intent: declared by the SDK's Review, absent from the fixture's example.
    assert differences(review.to_dict(), fixture("review"), "review.", 3) == ["extra review.payment_intent"]
