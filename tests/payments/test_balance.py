"""The balance and its balance transactions, as the Stripe docs' examples read them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.conftest import new_server
from tests.support.server import Server, drop_pg_database


def pay(client: stripe.StripeClient, amount: int = 1000, method: str = "pm_card_visa",
        currency: str = "usd") -> tuple[stripe.PaymentIntent, stripe.Charge]:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": currency, "payment_method": method, "confirm": True}
    )
    assert intent.status == "succeeded"
    return intent, client.v1.charges.retrieve(str(intent.latest_charge))


def amounts(client: stripe.StripeClient, currency: str = "usd") -> dict[str, int]:
    balance = client.v1.balance.retrieve().to_dict()
    found: dict[str, int] = {}
    for which in ("available", "pending"):
        rows = [row for row in balance[which] if row["currency"] == currency]
        found[which] = rows[0]["amount"] if rows else 0
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def quiet_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[stripe.StripeClient]:
    """A server of its own: the list tests assert exact order, which background work that other
    tests leave on the shared server (renewals, retries, disputes) would interleave with."""
    server = new_server(request.param, tmp_path).start()
    yield stripe.StripeClient(server.secret_key, base_addresses={"api": server.url})
    server.stop()
    if server.backend == "postgres":
        drop_pg_database(server.database_url)


def error_of(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_a_new_account_has_a_zero_balance_in_its_default_currency(fresh_server: Server) -> None:
    fresh_server.start()
    client = stripe.StripeClient(
        fresh_server.secret_key, base_addresses={"api": fresh_server.url}, max_network_retries=0
    )
    balance = client.v1.balance.retrieve()
    assert balance.object == "balance"
    assert balance.livemode is False
    assert balance.to_dict()["available"] == [
        {"amount": 0, "currency": "usd", "source_types": {"card": 0}}
    ]
    assert balance.to_dict()["pending"] == [
        {"amount": 0, "currency": "usd", "source_types": {"card": 0}}
    ]
    assert balance.to_dict()["connect_reserved"] == [{"amount": 0, "currency": "usd"}]
    assert client.v1.balance_transactions.list().data == []


def test_a_card_payment_is_pending_net_of_fees(client: stripe.StripeClient) -> None:
    before = amounts(client)
    _, charge = pay(client, 1000)
    after = amounts(client)
    assert after["pending"] - before["pending"] == 941
    assert after["available"] == before["available"]

    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert txn.id.startswith("txn_")
    assert (txn.amount, txn.fee, txn.net, txn.currency) == (1000, 59, 941, "usd")
    assert txn.type == "charge" and txn.reporting_category == "charge"
    assert txn.status == "pending"
    assert txn.source == charge.id
    assert txn.available_on > txn.created
    assert txn.balance_type == "payments"
    assert txn.fee_details[0].to_dict() == {
        "amount": 59, "application": None, "currency": "usd",
        "description": "Stripe processing fees", "type": "stripe_fee",
    }


def test_bypass_pending_card_is_available_at_once(client: stripe.StripeClient) -> None:
    before = amounts(client)
    _, charge = pay(client, 2000, "pm_card_bypassPending")
    after = amounts(client)
    assert after["available"] - before["available"] == 2000 - 88
    assert after["pending"] == before["pending"]
    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert txn.status == "available"
    assert txn.available_on == txn.created


def test_a_refund_takes_its_amount_from_the_available_balance(client: stripe.StripeClient) -> None:
    intent, _ = pay(client, 2000, "pm_card_bypassPending")
    before = amounts(client)
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
    after = amounts(client)
    assert after["available"] - before["available"] == -500
    assert after["pending"] == before["pending"]

    txn = client.v1.balance_transactions.retrieve(str(refund.balance_transaction))
    assert (txn.amount, txn.fee, txn.net) == (-500, 0, -500)
    assert txn.type == "refund" and txn.reporting_category == "refund"
    assert txn.status == "available"
    assert txn.fee_details == []


def test_the_balance_lists_each_currency(client: stripe.StripeClient) -> None:
    before = amounts(client, "eur")
    pay(client, 1000, currency="eur")
    balance = client.v1.balance.retrieve().to_dict()
    assert balance["available"][0]["currency"] == "usd"  # the default currency leads
    currencies = [row["currency"] for row in balance["pending"]]
    assert "eur" in currencies and len(currencies) == len(set(currencies))
    assert amounts(client, "eur")["pending"] - before["pending"] == 941


def test_retrieve_expands_the_source(client: stripe.StripeClient) -> None:
    intent, charge = pay(client, 1234)
    txn = client.v1.balance_transactions.retrieve(
        str(charge.balance_transaction), {"expand": ["source"]}
    )
    source = txn.source
    assert isinstance(source, stripe.Charge)
    assert source.id == charge.id and source.amount == 1234
    assert source.payment_intent == intent.id

    refund = client.v1.refunds.create({"charge": charge.id, "amount": 34})
    listed = client.v1.balance_transactions.list(
        {"source": refund.id, "expand": ["data.source"]}
    )
    assert len(listed.data) == 1
    assert isinstance(listed.data[0].source, stripe.Refund)
    assert listed.data[0].source.id == refund.id


def test_list_filters(quiet_client: stripe.StripeClient) -> None:
    client = quiet_client
    started = int(time.time())
    _, charge = pay(client, 1500)
    refund = client.v1.refunds.create({"charge": charge.id, "amount": 100})

    by_source = client.v1.balance_transactions.list({"source": charge.id})
    assert [t.id for t in by_source.data] == [charge.balance_transaction]
    assert by_source.url == "/v1/balance_transactions"

    refunds = client.v1.balance_transactions.list({"type": "refund", "limit": 100})
    assert refund.balance_transaction in [t.id for t in refunds.data]
    assert all(t.type == "refund" for t in refunds.data)

    both = client.v1.balance_transactions.list({"type": "charge", "source": refund.id})
    assert both.data == []

    recent = client.v1.balance_transactions.list({"created": {"gte": started - 1}, "limit": 100})
    ids = [t.id for t in recent.data]
    assert charge.balance_transaction in ids and refund.balance_transaction in ids
    assert ids.index(refund.balance_transaction) < ids.index(str(charge.balance_transaction))
    future = client.v1.balance_transactions.list({"created": {"gt": started + 3600}})
    assert future.data == []

    assert client.v1.balance_transactions.list({"currency": "usd", "source": charge.id}).data
    assert client.v1.balance_transactions.list({"currency": "gbp", "source": charge.id}).data == []


def test_list_pages_newest_first(quiet_client: stripe.StripeClient) -> None:
    client = quiet_client
    made = [str(pay(client, 700 + i)[1].balance_transaction) for i in range(3)]
    first = client.v1.balance_transactions.list({"type": "charge", "limit": 2})
    assert [t.id for t in first.data] == made[::-1][:2]
    assert first.has_more is True
    rest = client.v1.balance_transactions.list(
        {"type": "charge", "limit": 1, "starting_after": first.data[-1].id}
    )
    assert [t.id for t in rest.data] == [made[0]]
    back = client.v1.balance_transactions.list(
        {"type": "charge", "limit": 2, "ending_before": made[0]}
    )
    assert [t.id for t in back.data] == made[::-1][:2]


def test_bad_input_is_refused(client: stripe.StripeClient) -> None:
    error = error_of(lambda: client.v1.balance_transactions.retrieve("txn_doesnotexist"))
    assert error.http_status == 404 and error.code == "resource_missing" and error.param == "id"
    assert "No such balance transaction: 'txn_doesnotexist'" in str(error.user_message)

    error = error_of(lambda: client.v1.balance_transactions.list({"type": "gift"}))
    assert error.http_status == 400 and error.param == "type"

    error = error_of(lambda: client.v1.balance_transactions.list({"currency": "xyz"}))
    assert error.http_status == 400 and error.param == "currency"

    error = error_of(lambda: client.v1.balance_transactions.list({"payout": "po_doesnotexist"}))
    assert error.http_status == 404 and error.param == "payout"

    error = error_of(lambda: client.v1.balance_transactions.list({"limit": 0}))
    assert error.param == "limit"

    error = error_of(
        lambda: client.v1.balance_transactions.list({"starting_after": "txn_doesnotexist"})
    )
    assert error.http_status == 404 and error.param == "starting_after"

    error = error_of(lambda: client.v1.balance.retrieve({"expand": ["available"]}))
    assert error.param == "expand"


def test_the_publishable_key_cannot_read_the_balance(public_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        public_client.v1.balance.retrieve()
    assert raised.value.http_status == 403
