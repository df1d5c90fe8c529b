"""Disputes, as Stripe's test mode opens them and the Stripe docs answer them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from tests.support.server import Server

DISPUTE_FEE = 1500
COUNTERED_FEE = 0  # the default: countering costs nothing unless the account sets a fee


def pay(client: stripe.StripeClient, method: str, amount: int = 5000) -> tuple[Any, Any]:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": method, "confirm": True}
    )
    assert intent.status == "succeeded"
    return intent, client.v1.charges.retrieve(str(intent.latest_charge))


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def dispute_of(client: stripe.StripeClient, charge_id: str) -> Any:
    found = wait_for(
        lambda: client.v1.disputes.list({"charge": charge_id}).data, lambda found: len(found) > 0
    )
    assert len(found) == 1, f"no dispute opened for {charge_id}"
    return found[0]


def total(client: stripe.StripeClient) -> int:
    balance = client.v1.balance.retrieve().to_dict()
    return sum(row["amount"] for which in ("available", "pending") for row in balance[which]
               if row["currency"] == "usd")


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list({"limit": 100}).data
    return [e.type for e in reversed(events) if e.data.object.to_dict().get("id") == object_id]


def refused(call: Callable[[], Any]) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def test_a_fraudulent_dispute_withdraws_the_amount_and_the_fee(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    assert dispute.id.startswith("dp_")
    assert dispute.status == "needs_response"
    assert dispute.reason == "fraudulent"
    assert dispute.amount == 5000 and dispute.currency == "usd"
    assert dispute.payment_intent == intent.id
    assert dispute.is_charge_refundable is False
    assert dispute.payment_method_details.card.case_type == "chargeback"
    assert dispute.payment_method_details.card.brand == "visa"
    details = dispute.evidence_details
    assert details.has_evidence is False and details.submission_count == 0
    assert details.due_by > dispute.created + 6 * 86_400
    assert dispute.evidence.uncategorized_text is None
    [withdrawal] = dispute.balance_transactions
    assert withdrawal.type == "adjustment" and withdrawal.reporting_category == "dispute"
    assert withdrawal.amount == -5000 and withdrawal.fee == DISPUTE_FEE
    assert withdrawal.net == -5000 - DISPUTE_FEE
    assert withdrawal.source == dispute.id
    assert client.v1.charges.retrieve(charge.id).disputed is True
    assert event_types(client, dispute.id) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]


@pytest.mark.parametrize(
    ("method", "reason", "status"),
    [
        ("pm_card_createDisputeProductNotReceived", "product_not_received", "needs_response"),
        ("pm_card_createDisputeInquiry", "general", "warning_needs_response"),
        ("pm_card_createComplianceDispute", "noncompliant", "needs_response"),
    ],
)
def test_each_dispute_card(client: stripe.StripeClient, method: str, reason: str, status: str) -> None:
    _, charge = pay(client, method)
    dispute = dispute_of(client, charge.id)
    assert (dispute.reason, dispute.status) == (reason, status)


def test_the_card_number_disputes_too(client: stripe.StripeClient) -> None:
    method = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4000000000002685", "exp_month": 12, "exp_year": 2034,
                                  "cvc": "123"}}
    )
    _, charge = pay(client, method.id)
    assert dispute_of(client, charge.id).reason == "product_not_received"


def test_an_ordinary_card_is_not_disputed(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_visa")
    time.sleep(1.5)
    assert client.v1.disputes.list({"charge": charge.id}).data == []
    assert client.v1.charges.retrieve(charge.id).disputed is False


def test_winning_evidence_wins_and_gives_the_money_back(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    before = total(client)
    staged = client.v1.disputes.update(
        dispute.id,
        {"evidence": {"customer_name": "Jenny Rosen", "uncategorized_text": "winning_evidence"},
         "submit": False, "metadata": {"case": "42"}},
    )
    assert staged.status == "needs_response"
    assert staged.evidence.customer_name == "Jenny Rosen"
    assert staged.evidence_details.has_evidence is True
    assert staged.evidence_details.submission_count == 0
    assert staged.metadata.to_dict() == {"case": "42"}
    submitted = client.v1.disputes.update(dispute.id, {"submit": True})
    assert submitted.status == "under_review"
    assert submitted.evidence_details.submission_count == 1
    assert total(client) == before - COUNTERED_FEE
    won = wait_for(lambda: client.v1.disputes.retrieve(dispute.id), lambda d: d.status == "won")
    assert won.status == "won"
    withdrawal, reversal = won.balance_transactions
    assert reversal.amount == 5000 and reversal.fee == -(COUNTERED_FEE + DISPUTE_FEE)
    assert reversal.net == 5000 + COUNTERED_FEE + DISPUTE_FEE
    assert reversal.reporting_category == "dispute_reversal"
    # The amount and the dispute fee come back: the balance is where it was before the dispute.
    assert total(client) == before + 5000 + DISPUTE_FEE
    assert event_types(client, dispute.id) == [
        "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.updated",
        "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_reinstated",
    ]


def test_losing_evidence_loses_and_keeps_the_money(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    before = total(client)
    submitted = client.v1.disputes.update(
        dispute.id, {"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    assert submitted.status == "under_review"
    lost = wait_for(lambda: client.v1.disputes.retrieve(dispute.id), lambda d: d.status == "lost")
    assert lost.status == "lost"
    assert len(lost.balance_transactions) == 1
    assert total(client) == before - COUNTERED_FEE
    assert event_types(client, dispute.id)[-2:] == ["charge.dispute.updated", "charge.dispute.closed"]


def test_closing_concedes_the_dispute(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDisputeProductNotReceived")
    dispute = dispute_of(client, charge.id)
    before = total(client)
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    assert total(client) == before
    assert event_types(client, dispute.id)[-1] == "charge.dispute.closed"
    again = refused(lambda: client.v1.disputes.close(dispute.id))
    assert again.http_status == 400
    late = refused(lambda: client.v1.disputes.update(
        dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}}))
    assert late.param == "evidence"
    # Metadata may still change on a closed dispute.
    noted = client.v1.disputes.update(dispute.id, {"metadata": {"note": "conceded"}})
    assert noted.metadata.to_dict() == {"note": "conceded"}


def test_an_inquiry_moves_no_money_and_closes_as_a_warning(client: stripe.StripeClient) -> None:
    before = total(client)
    _, charge = pay(client, "pm_card_createDisputeInquiry")
    after_payment = total(client)
    dispute = dispute_of(client, charge.id)
    assert dispute.status == "warning_needs_response"
    assert dispute.payment_method_details.card.case_type == "inquiry"
    assert dispute.is_charge_refundable is True
    assert dispute.balance_transactions == []
    assert total(client) == after_payment > before
    submitted = client.v1.disputes.update(
        dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    assert submitted.status == "warning_under_review"
    closed = wait_for(lambda: client.v1.disputes.retrieve(dispute.id),
                      lambda d: d.status == "warning_closed")
    assert closed.status == "warning_closed"
    assert total(client) == after_payment


def test_an_inquiry_closed_by_the_merchant(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDisputeInquiry")
    dispute = dispute_of(client, charge.id)
    assert client.v1.disputes.close(dispute.id).status == "warning_closed"


def test_an_escalated_inquiry_becomes_a_chargeback(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDisputeInquiry")
    dispute = dispute_of(client, charge.id)
    client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": "escalate_inquiry_evidence"}})
    escalated = wait_for(lambda: client.v1.disputes.retrieve(dispute.id),
                         lambda d: d.status == "needs_response")
    assert escalated.status == "needs_response"
    assert escalated.payment_method_details.card.case_type == "chargeback"
    assert [t.amount for t in escalated.balance_transactions] == [-5000]


def test_list_filters(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    by_intent = client.v1.disputes.list({"payment_intent": intent.id}).data
    assert [d.id for d in by_intent] == [dispute.id]
    recent = client.v1.disputes.list({"created": {"gte": dispute.created}, "limit": 100}).data
    assert dispute.id in [d.id for d in recent]
    assert client.v1.disputes.list({"charge": "ch_nothing"}).data == []
    expanded = client.v1.disputes.retrieve(dispute.id, {"expand": ["charge"]})
    assert expanded.charge.id == charge.id


def test_refunding_a_disputed_charge_is_refused(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDispute")
    dispute_of(client, charge.id)
    error = refused(lambda: client.v1.refunds.create({"charge": charge.id}))
    assert error.code == "charge_disputed"


def test_bad_requests_change_nothing(client: stripe.StripeClient) -> None:
    missing = refused(lambda: client.v1.disputes.retrieve("dp_missing"))
    assert missing.http_status == 404 and missing.code == "resource_missing"
    assert refused(lambda: client.v1.disputes.close("dp_missing")).http_status == 404
    _, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    unknown = refused(lambda: client.v1.disputes.update(
        dispute.id, {"evidence": {"favourite_colour": "blue"}}))  # type: ignore[typeddict-unknown-key]
    assert unknown.param == "evidence[favourite_colour]" and unknown.code == "parameter_unknown"
    too_long = refused(lambda: client.v1.disputes.update(
        dispute.id, {"evidence": {"customer_name": "x" * 5001}}))
    assert too_long.param == "evidence[customer_name]"
    bad_file = refused(lambda: client.v1.disputes.update(
        dispute.id, {"evidence": {"receipt": "not a file"}}))
    assert bad_file.param == "evidence[receipt]"
    bad_submit = refused(lambda: client.v1.disputes.update(
        dispute.id, {"submit": "maybe"}))  # type: ignore[typeddict-item]
    assert bad_submit.param == "submit"
    unchanged = client.v1.disputes.retrieve(dispute.id)
    assert unchanged.status == "needs_response"
    assert unchanged.evidence_details.has_evidence is False
    assert event_types(client, dispute.id) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]


def test_submitted_evidence_cannot_be_changed(client: stripe.StripeClient) -> None:
    _, charge = pay(client, "pm_card_createDispute")
    dispute = dispute_of(client, charge.id)
    client.v1.disputes.update(dispute.id, {"evidence": {"product_description": "A mug"}})
    error = refused(lambda: client.v1.disputes.update(
        dispute.id, {"evidence": {"product_description": "Two mugs"}}))
    assert error.param == "evidence"
    assert refused(lambda: client.v1.disputes.close(dispute.id)).http_status == 400
    assert client.v1.disputes.retrieve(dispute.id).evidence.product_description == "A mug"


def test_stripe_2025_pricing_keeps_the_dispute_fee_and_charges_for_countering(
    client: stripe.StripeClient, server: Server
) -> None:
    server.cli("settings", "set", "dispute_fee_returned_on_win=0", "dispute_countered_fee=1500")
    try:
        _, charge = pay(client, "pm_card_createDispute")
        dispute = dispute_of(client, charge.id)
        before = total(client)
        client.v1.disputes.update(
            dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}, "submit": True}
        )
        assert total(client) == before - 1500
        won = wait_for(lambda: client.v1.disputes.retrieve(dispute.id), lambda d: d.status == "won")
        assert won.status == "won"
        # The amount and the countered fee come back; the dispute fee does not.
        assert total(client) == before + 5000
    finally:
        server.cli("settings", "set", "dispute_fee_returned_on_win=1", "dispute_countered_fee=0")
