"""Payouts on the platform and on connected accounts, as Stripe's test mode runs them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe

from tests.conftest import BACKENDS, new_server
from tests.connect.test_transfers import balance, fee, pay, refused, seller, total
from tests.support.server import Server, drop_pg_database


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Servers of this module's own: its tests compare balances, which others' work would move."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"payouts-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def events_of(client: stripe.StripeClient, object_id: str, options: Any = None) -> list[Any]:
    events = client.v1.events.list({"limit": 100}, options=options or {}).data
    return [e for e in reversed(events) if e.data.object.to_dict().get("id") == object_id]


def funded_seller(client: stripe.StripeClient, amount: int) -> stripe.Account:
    account = seller(client)
    pay(client, amount + 1_000)
    client.v1.transfers.create({"amount": amount, "currency": "usd", "destination": account.id})
    return account


def test_a_platform_payout_is_paid(client: stripe.StripeClient) -> None:
    pay(client, 5_000)
    before = balance(client)
    payout = client.v1.payouts.create(
        {"amount": 1_100, "currency": "usd", "description": "Weekly", "metadata": {"week": "32"},
         "statement_descriptor": "BILLFOLD"}
    )
    assert payout.id.startswith("po_") and payout.object == "payout"
    assert payout.status == "pending" and payout.automatic is False and payout.method == "standard"
    assert payout.description == "Weekly" and payout.metadata.to_dict() == {"week": "32"}
    assert payout.statement_descriptor == "BILLFOLD" and payout.type == "bank_account"
    assert str(payout.destination).startswith("ba_")
    assert payout.arrival_date >= payout.created
    txn = client.v1.balance_transactions.retrieve(str(payout.balance_transaction))
    assert (txn.type, txn.amount, txn.source, txn.status) == ("payout", -1_100, payout.id, "available")
    assert balance(client)["available"] == before["available"] - 1_100

    paid = wait_for(lambda: client.v1.payouts.retrieve(payout.id), lambda p: p.status == "paid")
    assert paid.status == "paid" and paid.failure_code is None
    assert [e.type for e in events_of(client, payout.id)] == ["payout.created", "payout.updated", "payout.paid"]
    assert balance(client)["available"] == before["available"] - 1_100
    assert refused(lambda: client.v1.payouts.cancel(payout.id)).http_status == 400


def test_a_connected_account_pays_out_its_own_balance(client: stripe.StripeClient) -> None:
    account = funded_seller(client, 8_770)
    as_seller: Any = {"stripe_account": account.id}
    assert balance(client, account.id) == {"available": 8_770, "pending": 0}
    bank = account.external_accounts.data[0]
    payout = client.v1.payouts.create({"amount": 8_770, "currency": "usd"}, options=as_seller)
    assert payout.destination == bank.id
    assert balance(client, account.id) == {"available": 0, "pending": 0}
    # The platform does not see its connected account's payout without acting as it.
    assert refused(lambda: client.v1.payouts.retrieve(payout.id)).http_status == 404
    paid = wait_for(lambda: client.v1.payouts.retrieve(payout.id, options=as_seller),
                    lambda p: p.status == "paid")
    assert paid.status == "paid"
    events = events_of(client, payout.id, as_seller)
    assert [e.type for e in events] == ["payout.created", "payout.updated", "payout.paid"]
    assert {e.account for e in events} == {account.id}
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 1, "currency": "usd"}, options=as_seller
    )).code == "balance_insufficient"


@pytest.mark.parametrize(
    ("token", "code"),
    [("btok_us_verified_noAccount", "no_account"), ("btok_us_verified_accountClosed", "account_closed")],
)
def test_a_failing_bank_account_gives_the_money_back(client: stripe.StripeClient, token: str, code: str) -> None:
    account = funded_seller(client, 3_000)
    as_seller: Any = {"stripe_account": account.id}
    failing = client.v1.accounts.external_accounts.create(account.id, {"external_account": token})
    payout = client.v1.payouts.create(
        {"amount": 2_000, "currency": "usd", "destination": failing.id}, options=as_seller
    )
    assert balance(client, account.id)["available"] == 1_000
    failed = wait_for(lambda: client.v1.payouts.retrieve(payout.id, options=as_seller),
                      lambda p: p.status == "failed")
    assert failed.status == "failed" and failed.failure_code == code
    assert failed.failure_message
    back = client.v1.balance_transactions.retrieve(str(failed.failure_balance_transaction), options=as_seller)
    assert (back.type, back.amount, back.source) == ("payout_failure", 2_000, payout.id)
    assert balance(client, account.id)["available"] == 3_000
    assert [e.type for e in events_of(client, payout.id, as_seller)] == [
        "payout.created", "payout.updated", "payout.failed"
    ]


def test_cancel_a_pending_payout(client: stripe.StripeClient) -> None:
    account = funded_seller(client, 1_500)
    as_seller: Any = {"stripe_account": account.id}
    payout = client.v1.payouts.create({"amount": 1_500, "currency": "usd"}, options=as_seller)
    canceled = client.v1.payouts.cancel(payout.id, options=as_seller)
    assert canceled.status == "canceled"
    back = client.v1.balance_transactions.retrieve(str(canceled.failure_balance_transaction), options=as_seller)
    assert (back.type, back.amount) == ("payout_cancel", 1_500)
    assert balance(client, account.id) == {"available": 1_500, "pending": 0}
    time.sleep(3.5)
    # The worker leaves a canceled payout alone.
    assert client.v1.payouts.retrieve(payout.id, options=as_seller).status == "canceled"
    assert refused(lambda: client.v1.payouts.cancel(payout.id, options=as_seller)).http_status == 400


def test_list_filters_and_update(client: stripe.StripeClient) -> None:
    account = funded_seller(client, 900)
    as_seller: Any = {"stripe_account": account.id}
    second = client.v1.accounts.external_accounts.create(account.id, {"external_account": "btok_us"})
    made = [client.v1.payouts.create({"amount": 100, "currency": "usd"}, options=as_seller)]
    client.v1.payouts.cancel(made[0].id, options=as_seller)
    made.append(client.v1.payouts.create(
        {"amount": 200, "currency": "usd", "destination": second.id}, options=as_seller
    ))
    made.append(client.v1.payouts.create({"amount": 300, "currency": "usd"}, options=as_seller))
    listed = client.v1.payouts.list({"limit": 2}, options=as_seller)
    assert [p.id for p in listed.data] == [made[2].id, made[1].id] and listed.has_more is True
    to_second = client.v1.payouts.list({"destination": second.id}, options=as_seller)
    assert [p.id for p in to_second.data] == [made[1].id]
    arriving = client.v1.payouts.list({"arrival_date": {"gte": made[0].arrival_date}}, options=as_seller)
    assert {p.id for p in arriving.data} == {p.id for p in made}
    assert client.v1.payouts.list({"arrival_date": {"lt": made[0].arrival_date - 10}},
                                  options=as_seller).data == []
    canceled = client.v1.payouts.list({"status": "canceled"}, options=as_seller)
    assert [p.id for p in canceled.data] == [made[0].id]
    updated = client.v1.payouts.update(made[2].id, {"metadata": {"batch": "7"}}, options=as_seller)
    assert updated.metadata.to_dict() == {"batch": "7"}


def test_money_is_conserved_across_platform_seller_and_bank(client: stripe.StripeClient) -> None:
    platform_before = total(client)
    account = seller(client)
    as_seller: Any = {"stripe_account": account.id}
    pay(client, 10_000)
    transfer = client.v1.transfers.create({"amount": 6_000, "currency": "usd", "destination": account.id})
    client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000})
    paid_out = client.v1.payouts.create({"amount": 4_000, "currency": "usd"}, options=as_seller)
    wait_for(lambda: client.v1.payouts.retrieve(paid_out.id, options=as_seller), lambda p: p.status == "paid")
    came_in = 10_000 - fee(10_000)
    assert total(client) - platform_before + total(client, account.id) + 4_000 == came_in
    assert total(client, account.id) == 1_000


def test_bad_input_is_refused_and_changes_nothing(client: stripe.StripeClient) -> None:
    account = funded_seller(client, 500)
    as_seller: Any = {"stripe_account": account.id}
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 100, "currency": "usd", "method": "teleport"}, options=as_seller  # type: ignore[typeddict-item]
    )).param == "method"
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 0, "currency": "usd"}, options=as_seller
    )).param == "amount"
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 100, "currency": "usd", "destination": "ba_nope"}, options=as_seller
    )).param == "destination"
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 100, "currency": "eur"}, options=as_seller
    )).param == "currency"
    assert refused(lambda: client.v1.payouts.create(
        {"amount": 100, "currency": "usd", "statement_descriptor": "X" * 23}, options=as_seller
    )).param == "statement_descriptor"
    assert refused(lambda: client.v1.payouts.retrieve("po_nope", options=as_seller)).http_status == 404
    assert refused(lambda: client.v1.payouts.cancel("po_nope", options=as_seller)).http_status == 404
    assert client.v1.payouts.list(options=as_seller).data == []
    assert balance(client, account.id) == {"available": 500, "pending": 0}
