"""Application fees and their refunds, as a platform manages them through the API."""

from __future__ import annotations

import pytest
import stripe

from tests.connect.test_destination_charges import fund, pay, seller, total


def _fee(client: stripe.StripeClient) -> tuple[stripe.ApplicationFee, str]:
    account = seller(client)
    intent = pay(client, transfer_data={"destination": account.id}, application_fee_amount=1230)
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    return client.v1.application_fees.retrieve(str(charge.application_fee)), account.id


def test_refund_part_of_a_fee_then_the_rest(client: stripe.StripeClient) -> None:
    fee, account = _fee(client)
    fund(client)
    platform_before = total(client)

    first = client.v1.application_fees.refunds.create(fee.id, {"amount": 230, "metadata": {"why": "goodwill"}})
    assert first.object == "fee_refund"
    assert first.id.startswith("fr_")
    assert (first.amount, first.currency, first.fee) == (230, "usd", fee.id)
    assert first.metadata.to_dict() == {"why": "goodwill"}
    moved = client.v1.balance_transactions.retrieve(str(first.balance_transaction))
    assert (moved.type, moved.amount) == ("application_fee_refund", -230)
    assert total(client, account) == 8770 + 230
    assert total(client) - platform_before == -230

    again = client.v1.application_fees.retrieve(fee.id)
    assert (again.amount_refunded, again.refunded) == (230, False)
    assert [r.id for r in again.refunds.data] == [first.id]

    rest = client.v1.application_fees.refunds.create(fee.id)
    assert rest.amount == 1000
    listed = client.v1.application_fees.refunds.list(fee.id)
    assert [r.id for r in listed.data] == [rest.id, first.id]
    assert listed.url == f"/v1/application_fees/{fee.id}/refunds"
    assert client.v1.application_fees.retrieve(fee.id).refunded is True
    assert total(client, account) == 10_000
    refunded = client.v1.events.list({"type": "application_fee.refunded", "limit": 10}).data
    assert fee.id in [e.data.object.id for e in refunded]

    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.application_fees.refunds.create(fee.id, {"amount": 1})
    assert done.value.param == "amount"


def test_retrieve_and_update_a_fee_refund(client: stripe.StripeClient) -> None:
    fee, _ = _fee(client)
    refund = client.v1.application_fees.refunds.create(fee.id, {"amount": 100})
    fetched = client.v1.application_fees.refunds.retrieve(fee.id, refund.id)
    assert fetched.amount == 100
    updated = client.v1.application_fees.refunds.update(fee.id, refund.id, {"metadata": {"note": "x"}})
    assert updated.metadata.to_dict() == {"note": "x"}
    event = client.v1.events.list({"type": "application_fee.refund.updated", "limit": 1}).data[0]
    assert event.data.object["id"] == refund.id

    other, _ = _fee(client)
    with pytest.raises(stripe.InvalidRequestError) as elsewhere:
        client.v1.application_fees.refunds.retrieve(other.id, refund.id)
    assert elsewhere.value.http_status == 404


def test_bad_fee_refunds_change_nothing(client: stripe.StripeClient) -> None:
    fee, account = _fee(client)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.application_fees.refunds.create(fee.id, {"amount": 1231})
    assert too_much.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as zero:
        client.v1.application_fees.refunds.create(fee.id, {"amount": 0})
    assert zero.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.application_fees.refunds.create(fee.id, {"amuont": 5})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.param == "amuont"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.application_fees.refunds.create("fee_nothere", {"amount": 5})
    assert missing.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as absent:
        client.v1.application_fees.retrieve("fee_nothere")
    assert absent.value.http_status == 404
    assert client.v1.application_fees.retrieve(fee.id).amount_refunded == 0
    assert total(client, account) == 8770


def test_fees_are_the_platforms_alone(client: stripe.StripeClient) -> None:
    fee, account = _fee(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.application_fees.retrieve(fee.id, options={"stripe_account": account})
    assert raised.value.http_status == 404
    listed = client.v1.application_fees.list({"limit": 100})
    assert fee.id in [f.id for f in listed.data]
