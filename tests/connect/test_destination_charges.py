"""Destination charges, as Stripe's Connect guide makes them: the platform charges, the seller
is paid by an automatic transfer, and the platform keeps its application fee."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.support.connect import completed_account

CARD_FEE = {10_000: 320, 6_000: 204}


def seller(client: stripe.StripeClient) -> stripe.Account:
    """A custom account whose onboarding is complete, so its ``transfers`` capability is active."""
    account = client.v1.accounts.create(completed_account())
    updated = client.v1.accounts.update(
        account.id,
        {"external_account": {"object": "bank_account", "country": "US", "currency": "usd",  # type: ignore[typeddict-item]
                              "routing_number": "110000000", "account_number": "000123456789"}},
    )
    assert updated.capabilities.to_dict()["transfers"] == "active"
    return updated


def total(client: stripe.StripeClient, account: str | None = None) -> int:
    """Everything an account holds in usd, available or pending: the sum of its ledger."""
    options: Any = {"stripe_account": account} if account else {}
    balance = client.v1.balance.retrieve(options=options)
    return sum(b.amount for b in [*balance.available, *balance.pending] if b.currency == "usd")


def pay(client: stripe.StripeClient, **params: Any) -> stripe.PaymentIntent:
    # Funds available at once, so refunds and payouts of other tests on this server see them.
    return client.v1.payment_intents.create(
        {"amount": 10_000, "currency": "usd", "payment_method": "pm_card_bypassPending",
         "confirm": True, "payment_method_types": ["card"], **params}
    )


def fund(client: stripe.StripeClient) -> None:
    """A plain payment first, so a test that ends with less than it began leaves the shared
    platform's available balance positive for the tests after it."""
    pay(client, amount=20_000)


def test_destination_charge_pays_the_seller_less_the_fee(client: stripe.StripeClient) -> None:
    account = seller(client)
    platform_before = total(client)
    intent = pay(client, transfer_data={"destination": account.id}, application_fee_amount=1230,
                 transfer_group="ORDER_95")
    assert intent.status == "succeeded"
    assert intent.transfer_data.destination == account.id
    assert intent.application_fee_amount == 1230

    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.transfer_data.destination == account.id  # type: ignore[union-attr]
    assert charge.application_fee_amount == 1230
    assert str(charge.transfer).startswith("tr_")
    assert str(charge.application_fee).startswith("fee_")

    transfer = client.v1.transfers.retrieve(str(charge.transfer))
    assert transfer.amount == 10_000
    assert transfer.destination == account.id
    assert transfer.source_transaction == charge.id
    assert transfer.transfer_group == "ORDER_95"

    fee = client.v1.application_fees.retrieve(str(charge.application_fee))
    assert fee.object == "application_fee"
    assert (fee.amount, fee.amount_refunded, fee.refunded) == (1230, 0, False)
    assert fee.account == account.id
    assert fee.originating_transaction == charge.id
    assert fee.charge == transfer.destination_payment
    assert fee.refunds.data == []
    earned = client.v1.balance_transactions.retrieve(str(fee.balance_transaction))
    assert (earned.type, earned.amount) == ("application_fee", 1230)
    listed = client.v1.application_fees.list({"charge": str(fee.charge)})
    assert [f.id for f in listed.data] == [fee.id]

    # The seller's payment shows the fee taken from it: 100.00 in, 87.70 net.
    payment = client.v1.charges.retrieve(
        str(transfer.destination_payment), options={"stripe_account": account.id}
    )
    paid = client.v1.balance_transactions.retrieve(
        str(payment.balance_transaction), options={"stripe_account": account.id}
    )
    assert (paid.type, paid.amount, paid.fee, paid.net) == ("payment", 10_000, 1230, 8770)
    assert [d.type for d in paid.fee_details] == ["application_fee"]
    assert payment.application_fee == fee.id

    assert total(client, account.id) == 8770
    # Money is conserved: the two accounts together hold the charge less Stripe's card fee.
    assert total(client) - platform_before + total(client, account.id) == 10_000 - CARD_FEE[10_000]

    wanted = {"types": ["transfer.created", "application_fee.created", "charge.succeeded"], "limit": 30}
    events = client.v1.events.list(wanted).data  # type: ignore[arg-type]
    kinds = [e.type for e in events]
    assert {"transfer.created", "application_fee.created", "charge.succeeded"} <= set(kinds)
    succeeded = next(e for e in events if e.type == "charge.succeeded"
                     and e.data.object["id"] == charge.id)
    assert succeeded.data.object["transfer"] == transfer.id


def test_manual_capture_transfers_what_is_captured(client: stripe.StripeClient) -> None:
    account = seller(client)
    platform_before = total(client)
    intent = pay(client, capture_method="manual", transfer_data={"destination": account.id},
                 application_fee_amount=1000)
    assert intent.status == "requires_capture"
    uncaptured = client.v1.charges.retrieve(str(intent.latest_charge))
    assert uncaptured.to_dict().get("transfer") is None
    assert uncaptured.transfer_data.destination == account.id  # type: ignore[union-attr]
    assert total(client, account.id) == 0

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 6000,
                                                      "application_fee_amount": 6001})
    assert raised.value.param == "application_fee_amount"
    assert total(client, account.id) == 0

    captured = client.v1.payment_intents.capture(
        intent.id, {"amount_to_capture": 6000, "application_fee_amount": 500}
    )
    assert captured.status == "succeeded"
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert client.v1.transfers.retrieve(str(charge.transfer)).amount == 6000
    assert client.v1.application_fees.retrieve(str(charge.application_fee)).amount == 500
    assert total(client, account.id) == 5500
    assert total(client) - platform_before + total(client, account.id) == 6000 - CARD_FEE[6000]


def test_transfer_data_amount_sends_only_that_much(client: stripe.StripeClient) -> None:
    account = seller(client)
    platform_before = total(client)
    intent = pay(client, transfer_data={"destination": account.id, "amount": 7000})
    assert intent.transfer_data.amount == 7000
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.application_fee is None
    assert client.v1.transfers.retrieve(str(charge.transfer)).amount == 7000
    assert total(client, account.id) == 7000
    assert total(client) - platform_before == 3000 - CARD_FEE[10_000]


def test_refund_reverses_the_transfer_and_refunds_the_fee(client: stripe.StripeClient) -> None:
    account = seller(client)
    fund(client)
    platform_before = total(client)
    intent = pay(client, transfer_data={"destination": account.id}, application_fee_amount=1230)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))

    # A quarter back with both: the seller returns a quarter of the transfer, the platform a
    # quarter of its fee.
    refund = client.v1.refunds.create(
        {"charge": charge.id, "amount": 2500, "reverse_transfer": True, "refund_application_fee": True}
    )
    assert str(refund.transfer_reversal).startswith("trr_")
    transfer = client.v1.transfers.retrieve(str(charge.transfer))
    assert (transfer.amount_reversed, transfer.reversed) == (2500, False)
    reversal = transfer.reversals.data[0]
    assert reversal.id == refund.transfer_reversal and reversal.source_refund == refund.id
    fee = client.v1.application_fees.retrieve(str(charge.application_fee))
    assert (fee.amount_refunded, fee.refunded) == (308, False)
    assert total(client, account.id) == 8770 - 2500 + 308

    # Another quarter reversing the transfer only: the platform keeps its fee.
    client.v1.refunds.create({"charge": charge.id, "amount": 2500, "reverse_transfer": True})
    assert client.v1.application_fees.retrieve(fee.id).amount_refunded == 308
    assert total(client, account.id) == 8770 - 5000 + 308

    # The rest with both: whatever is left of the transfer and the fee goes back.
    client.v1.refunds.create({"charge": charge.id, "reverse_transfer": True, "refund_application_fee": True})
    fee = client.v1.application_fees.retrieve(fee.id)
    assert (fee.amount_refunded, fee.refunded) == (1230, True)
    assert client.v1.transfers.retrieve(str(charge.transfer)).reversed is True
    assert total(client, account.id) == 0
    assert total(client) - platform_before == -CARD_FEE[10_000]
    # Filtered by type: the shared server's other background work (renewals) adds events too.
    wanted = {"types": ["application_fee.refunded", "transfer.reversed"], "limit": 40}
    kinds = [e.type for e in client.v1.events.list(wanted).data]  # type: ignore[arg-type]
    assert "application_fee.refunded" in kinds and "transfer.reversed" in kinds


def test_refund_without_reversal_leaves_the_seller_paid(client: stripe.StripeClient) -> None:
    account = seller(client)
    fund(client)
    platform_before = total(client)
    intent = pay(client, transfer_data={"destination": account.id}, application_fee_amount=1230)
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.transfer_reversal is None
    assert total(client, account.id) == 8770
    assert total(client) - platform_before == -CARD_FEE[10_000] - 8770


def test_direct_charge_pays_its_fee_to_the_platform(client: stripe.StripeClient) -> None:
    account = seller(client)
    as_seller: Any = {"stripe_account": account.id}
    platform_before = total(client)
    intent = client.v1.payment_intents.create(
        {"amount": 10_000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "payment_method_types": ["card"], "application_fee_amount": 1230},
        options=as_seller,
    )
    charge = client.v1.charges.retrieve(str(intent.latest_charge), options=as_seller)
    assert str(charge.application_fee).startswith("fee_")
    paid = client.v1.balance_transactions.retrieve(str(charge.balance_transaction), options=as_seller)
    assert paid.fee == CARD_FEE[10_000] + 1230
    fee = client.v1.application_fees.retrieve(str(charge.application_fee))
    assert fee.account == account.id and fee.charge == charge.id and fee.originating_transaction is None
    assert total(client) - platform_before == 1230
    assert total(client, account.id) == 10_000 - CARD_FEE[10_000] - 1230

    client.v1.refunds.create({"charge": charge.id, "refund_application_fee": True}, options=as_seller)
    assert client.v1.application_fees.retrieve(fee.id).refunded is True
    assert total(client) - platform_before == 0
    assert total(client, account.id) == -CARD_FEE[10_000]


def _refused(client: stripe.StripeClient, **params: Any) -> stripe.InvalidRequestError:
    before = client.v1.payment_intents.list({"limit": 1}).data
    with pytest.raises(stripe.InvalidRequestError) as raised:
        pay(client, **params)
    assert raised.value.http_status == 400
    assert client.v1.payment_intents.list({"limit": 1}).data == before
    return raised.value


def test_bad_destinations_and_fees_are_refused(client: stripe.StripeClient) -> None:
    account = seller(client)
    platform_before = total(client)

    missing = _refused(client, transfer_data={"destination": "acct_nothere"})
    assert missing.param == "transfer_data[destination]"
    assert missing.code == "resource_missing"

    unboarded = client.v1.accounts.create(
        {"type": "express", "country": "US",
         "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}}}
    )
    inactive = _refused(client, transfer_data={"destination": unboarded.id})
    assert inactive.param == "transfer_data[destination]"
    assert inactive.code == "insufficient_capabilities_for_transfer"

    too_big = _refused(client, transfer_data={"destination": account.id}, application_fee_amount=10_001)
    assert too_big.param == "application_fee_amount"
    no_destination = _refused(client, application_fee_amount=100)
    assert no_destination.param == "application_fee_amount"
    assert "Can only apply an application_fee_amount" in str(no_destination.user_message)
    both = _refused(client, transfer_data={"destination": account.id, "amount": 5000},
                    application_fee_amount=100)
    assert both.param == "application_fee_amount"
    over = _refused(client, transfer_data={"destination": account.id, "amount": 10_001})
    assert over.param == "transfer_data[amount]"
    unknown = _refused(client, transfer_data={"destination": account.id, "amuont": 1})
    assert unknown.param == "transfer_data[amuont]"

    assert total(client, account.id) == 0
    assert total(client) == platform_before
