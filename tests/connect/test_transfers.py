"""Separate charges and transfers, and transfer reversals, as the Stripe Connect docs show them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe

from tests.conftest import BACKENDS, new_server
from tests.support.connect import completed_account
from tests.support.server import Server, drop_pg_database

FEE_BPS, FEE_FIXED = 290, 30


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Servers of this module's own: its tests compare balances, which others' work would move."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"transfers-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def seller(client: stripe.StripeClient) -> stripe.Account:
    """A custom account completed through the API, so it may receive transfers."""
    return client.v1.accounts.create(completed_account(external_account="btok_us_verified"))


def pay(client: stripe.StripeClient, amount: int, method: str = "pm_card_bypassPending", **extra: Any) -> Any:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": method, "confirm": True, **extra}
    )
    assert intent.status == "succeeded"
    return client.v1.charges.retrieve(str(intent.latest_charge))


def fee(amount: int) -> int:
    return (amount * FEE_BPS + 5_000) // 10_000 + FEE_FIXED


def balance(client: stripe.StripeClient, account: str | None = None) -> dict[str, int]:
    options: Any = {"stripe_account": account} if account else {}
    found = client.v1.balance.retrieve(options=options).to_dict()
    return {which: sum(r["amount"] for r in found[which] if r["currency"] == "usd")
            for which in ("available", "pending")}


def total(client: stripe.StripeClient, account: str | None = None) -> int:
    return sum(balance(client, account).values())


def refused(call: Callable[[], Any]) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


def test_a_charge_then_a_transfer_and_a_reversal_conserve_money(client: stripe.StripeClient) -> None:
    account = seller(client)
    assert account.capabilities.to_dict()["transfers"] == "active"
    platform_before = total(client)
    charge = pay(client, 10_000, transfer_group="ORDER_95")
    transfer = client.v1.transfers.create(
        {"amount": 7_000, "currency": "usd", "destination": account.id, "transfer_group": "ORDER_95",
         "description": "Seller share", "metadata": {"order": "95"}}
    )
    assert transfer.id.startswith("tr_") and transfer.object == "transfer"
    assert transfer.amount == 7_000 and transfer.amount_reversed == 0 and transfer.reversed is False
    assert transfer.destination == account.id and transfer.transfer_group == "ORDER_95"
    assert transfer.description == "Seller share" and transfer.metadata.to_dict() == {"order": "95"}
    assert transfer.reversals.data == [] and transfer.reversals.url == f"/v1/transfers/{transfer.id}/reversals"
    assert str(transfer.destination_payment).startswith("py_")

    platform_txn = client.v1.balance_transactions.retrieve(str(transfer.balance_transaction))
    assert (platform_txn.type, platform_txn.amount, platform_txn.source) == ("transfer", -7_000, transfer.id)
    as_seller: Any = {"stripe_account": account.id}
    payment = client.v1.charges.retrieve(str(transfer.destination_payment), options=as_seller)
    assert payment.amount == 7_000 and payment.source_transfer == transfer.id and payment.paid is True
    seller_txn = client.v1.balance_transactions.retrieve(str(payment.balance_transaction), options=as_seller)
    assert (seller_txn.type, seller_txn.amount, seller_txn.source) == ("payment", 7_000, payment.id)
    assert balance(client, account.id) == {"available": 7_000, "pending": 0}
    assert total(client) + total(client, account.id) == platform_before + 10_000 - fee(10_000)
    # The platform cannot see the connected account's payment without acting as it.
    assert refused(lambda: client.v1.charges.retrieve(str(transfer.destination_payment))).http_status == 404

    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 2_000, "metadata": {"why": "return"}})
    assert reversal.id.startswith("trr_") and reversal.object == "transfer_reversal"
    assert reversal.amount == 2_000 and reversal.transfer == transfer.id
    assert reversal.metadata.to_dict() == {"why": "return"}
    back = client.v1.balance_transactions.retrieve(str(reversal.balance_transaction))
    assert (back.type, back.amount, back.reporting_category) == ("transfer_refund", 2_000, "transfer_reversal")
    refund = client.v1.refunds.retrieve(str(reversal.destination_payment_refund), options=as_seller)
    assert refund.amount == 2_000 and refund.charge == payment.id
    after = client.v1.transfers.retrieve(transfer.id)
    assert after.amount_reversed == 2_000 and after.reversed is False
    assert [r.id for r in after.reversals.data] == [reversal.id]
    assert balance(client, account.id)["available"] == 5_000

    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 5_000
    done = client.v1.transfers.retrieve(transfer.id)
    assert done.amount_reversed == 7_000 and done.reversed is True
    assert client.v1.charges.retrieve(payment.id, options=as_seller).refunded is True
    assert total(client, account.id) == 0
    assert total(client) == platform_before + 10_000 - fee(10_000)
    assert charge.transfer_group == "ORDER_95"

    listed = client.v1.transfers.reversals.list(transfer.id, {"limit": 1})
    assert [r.id for r in listed.data] == [rest.id] and listed.has_more is True
    assert client.v1.transfers.reversals.retrieve(transfer.id, reversal.id).amount == 2_000
    updated = client.v1.transfers.reversals.update(transfer.id, reversal.id, {"metadata": {"why": ""}})
    assert updated.metadata.to_dict() == {}
    error = refused(lambda: client.v1.transfers.reversals.create(transfer.id, {"amount": 1}))
    assert error.http_status == 400
    types = [e.type for e in client.v1.events.list({"limit": 20}).data
             if e.data.object.to_dict().get("id") == transfer.id]
    assert types == ["transfer.reversed", "transfer.reversed", "transfer.created"]


def test_source_transaction_backs_a_transfer_beyond_the_available_balance(client: stripe.StripeClient) -> None:
    account = seller(client)
    platform_before = balance(client)
    charge = pay(client, 5_000, method="pm_card_visa")
    transfer = client.v1.transfers.create(
        {"amount": 4_000, "currency": "usd", "destination": account.id, "source_transaction": charge.id}
    )
    assert transfer.source_transaction == charge.id
    # The money follows the charge's: pending on both sides until the charge's funds settle.
    seller_balance = balance(client, account.id)
    assert seller_balance == {"available": 0, "pending": 4_000}
    platform_after = balance(client)
    assert platform_after["available"] == platform_before["available"]
    assert platform_after["pending"] - platform_before["pending"] == 5_000 - fee(5_000) - 4_000
    too_much = refused(lambda: client.v1.transfers.create(
        {"amount": 1_001, "currency": "usd", "destination": account.id, "source_transaction": charge.id}
    ))
    assert too_much.param == "amount"
    # A reversal of a charge-backed transfer does not need the seller's available balance.
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000})
    assert reversal.amount == 1_000
    assert sum(balance(client, account.id).values()) == 3_000


def test_a_transfer_larger_than_the_available_balance_is_refused(client: stripe.StripeClient) -> None:
    account = seller(client)
    available = balance(client)["available"]
    error = refused(lambda: client.v1.transfers.create(
        {"amount": available + 1, "currency": "usd", "destination": account.id}
    ))
    assert error.code == "balance_insufficient"
    assert "insufficient available funds" in str(error.user_message)
    assert client.v1.transfers.list({"destination": account.id}).data == []
    assert total(client, account.id) == 0


def test_list_filters_and_update(client: stripe.StripeClient) -> None:
    first, second = seller(client), seller(client)
    pay(client, 3_000)
    made = [
        client.v1.transfers.create({"amount": 100, "currency": "usd", "destination": first.id,
                                    "transfer_group": "GROUP_A"}),
        client.v1.transfers.create({"amount": 200, "currency": "usd", "destination": second.id,
                                    "transfer_group": "GROUP_A"}),
        client.v1.transfers.create({"amount": 300, "currency": "usd", "destination": first.id}),
    ]
    by_destination = client.v1.transfers.list({"destination": first.id})
    assert [t.id for t in by_destination.data] == [made[2].id, made[0].id]
    by_group = client.v1.transfers.list({"transfer_group": "GROUP_A", "limit": 1})
    assert [t.id for t in by_group.data] == [made[1].id] and by_group.has_more is True
    since = client.v1.transfers.list({"created": {"gte": made[0].created}, "destination": second.id})
    assert [t.id for t in since.data] == [made[1].id]
    updated = client.v1.transfers.update(made[0].id, {"description": "Payout share", "metadata": {"k": "v"}})
    assert updated.description == "Payout share" and updated.metadata.to_dict() == {"k": "v"}
    assert client.v1.transfers.retrieve(made[0].id).description == "Payout share"
    event = client.v1.events.list({"type": "transfer.updated", "limit": 1}).data[0]
    assert event.data.object.id == made[0].id
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes.to_dict() == {"description": None, "metadata": {}}


def test_bad_input_is_refused_and_moves_no_money(client: stripe.StripeClient, server: Server) -> None:
    account = seller(client)
    pay(client, 1_000)
    before = total(client)
    assert refused(lambda: client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": "acct_nope"}
    )).param == "destination"
    assert refused(lambda: client.v1.transfers.create(
        {"amount": -5, "currency": "usd", "destination": account.id}
    )).param == "amount"
    assert refused(lambda: client.v1.transfers.create(
        {"currency": "usd", "destination": account.id}  # type: ignore[typeddict-item]
    )).param == "amount"
    assert refused(lambda: client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": account.id, "source_transaction": "ch_nope"}
    )).param == "source_transaction"
    unfinished = client.v1.accounts.create({"type": "express", "country": "US",
                                            "capabilities": {"transfers": {"requested": True}}})
    error = refused(lambda: client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": unfinished.id}
    ))
    assert error.code == "insufficient_capabilities_for_transfer" and error.param == "destination"
    missing = refused(lambda: client.v1.transfers.retrieve("tr_nope"))
    assert missing.http_status == 404
    assert refused(lambda: client.v1.transfers.reversals.create("tr_nope")).http_status == 404
    assert refused(lambda: client.v1.transfers.update("tr_nope", {"description": "x"})).http_status == 404
    # A connected account cannot send its platform's money, nor transfer to itself.
    as_seller: Any = {"stripe_account": account.id}
    assert refused(lambda: client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": account.id}, options=as_seller
    )).param == "destination"
    assert total(client) == before and total(client, account.id) == 0


def test_reversing_more_than_the_seller_holds_is_refused(client: stripe.StripeClient) -> None:
    account = seller(client)
    pay(client, 2_000)
    transfer = client.v1.transfers.create({"amount": 1_000, "currency": "usd", "destination": account.id})
    assert refused(lambda: client.v1.transfers.reversals.create(
        transfer.id, {"amount": 1_001}
    )).param == "amount"
    # The seller pays most of it out: the platform can take back only what is left.
    client.v1.payouts.create({"amount": 800, "currency": "usd"}, options={"stripe_account": account.id})
    error = refused(lambda: client.v1.transfers.reversals.create(transfer.id, {"amount": 500}))
    assert error.code == "balance_insufficient"
    assert client.v1.transfers.reversals.create(transfer.id, {"amount": 200}).amount == 200
