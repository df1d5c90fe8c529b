"""A marketplace from start to end, as the Stripe Connect guides build one: an Express seller
onboarded through its hosted Account Link form, a destination charge, the seller's payout, a
separate charge and transfer with a partial reversal, and two disputes (one won, one conceded)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import BACKENDS, new_server
from tests.support.server import Server, drop_pg_database

FEE_BPS, FEE_FIXED = 290, 30
DISPUTE_FEE = 1500
LINK = {"refresh_url": "https://example.com/reauth", "return_url": "https://example.com/return",
        "type": "account_onboarding"}


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Servers of this module's own: its tests compare balances, which others' work would move."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"scenario-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def card_fee(amount: int) -> int:
    return (amount * FEE_BPS + 5_000) // 10_000 + FEE_FIXED


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def as_account(account: str | None) -> Any:
    return {"stripe_account": account} if account else {}


def balance(client: stripe.StripeClient, account: str | None = None) -> dict[str, int]:
    found = client.v1.balance.retrieve(options=as_account(account)).to_dict()
    return {which: sum(r["amount"] for r in found[which] if r["currency"] == "usd")
            for which in ("available", "pending")}


def total(client: stripe.StripeClient, account: str | None = None) -> int:
    return sum(balance(client, account).values())


def onboarded_express(client: stripe.StripeClient, email: str = "seller@example.com") -> stripe.Account:
    """An Express account, onboarded by posting its Account Link's hosted form as a person would."""
    account = client.v1.accounts.create(
        {"type": "express", "country": "US", "email": email,
         "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}}}
    )
    assert account.charges_enabled is False
    link = client.v1.account_links.create({"account": account.id, **LINK})  # type: ignore[typeddict-item]
    page = httpx.get(link.url)
    assert page.status_code == 200
    form = dict(re.findall(r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)">', page.text))
    assert form, "the onboarding page has no form fields"
    done = httpx.post(link.url, data=form)
    assert done.status_code == 303 and done.headers["location"] == LINK["return_url"]
    onboarded = client.v1.accounts.retrieve(account.id)
    assert onboarded.details_submitted is True
    assert onboarded.charges_enabled is True and onboarded.payouts_enabled is True
    assert onboarded.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    return onboarded


def pay(client: stripe.StripeClient, amount: int, method: str = "pm_card_bypassPending", **extra: Any) -> Any:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": method, "confirm": True,
         "payment_method_types": ["card"], **extra}
    )
    assert intent.status == "succeeded"
    return client.v1.charges.retrieve(str(intent.latest_charge))


def dispute_of(client: stripe.StripeClient, charge_id: str) -> Any:
    found = wait_for(lambda: client.v1.disputes.list({"charge": charge_id}).data, lambda d: len(d) > 0)
    assert len(found) == 1, f"no dispute opened for {charge_id}"
    return found[0]


def test_a_marketplace_from_onboarding_to_disputes(client: stripe.StripeClient) -> None:
    seller = onboarded_express(client)
    as_seller = as_account(seller.id)
    start = total(client)

    # A destination charge: 100.00 to the seller, 12.30 kept by the platform.
    charge = pay(client, 10_000, transfer_data={"destination": seller.id}, application_fee_amount=1230)
    assert str(charge.transfer).startswith("tr_") and str(charge.application_fee).startswith("fee_")
    assert balance(client, seller.id) == {"available": 8_770, "pending": 0}
    assert total(client) - start == 1_230 - card_fee(10_000)

    # The seller pays its whole balance out to its bank.
    bank = seller.external_accounts.data[0]
    payout = client.v1.payouts.create({"amount": 8_770, "currency": "usd"}, options=as_seller)
    assert payout.destination == bank.id and payout.status in ("pending", "in_transit")
    assert balance(client, seller.id) == {"available": 0, "pending": 0}
    paid = wait_for(lambda: client.v1.payouts.retrieve(payout.id, options=as_seller),
                    lambda p: p.status == "paid")
    assert paid.status == "paid" and paid.failure_code is None
    assert balance(client, seller.id) == {"available": 0, "pending": 0}
    platform = total(client)
    assert platform - start == 1_230 - card_fee(10_000)

    # Separate charges and transfers, tied by a transfer group, then part of the transfer back.
    second = pay(client, 10_000, transfer_group="ORDER_42")
    assert second.transfer_group == "ORDER_42"
    transfer = client.v1.transfers.create(
        {"amount": 6_000, "currency": "usd", "destination": seller.id, "transfer_group": "ORDER_42"}
    )
    assert transfer.transfer_group == "ORDER_42" and transfer.destination == seller.id
    assert balance(client, seller.id) == {"available": 6_000, "pending": 0}
    assert total(client) - platform == 10_000 - card_fee(10_000) - 6_000
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 1_500})
    assert reversal.amount == 1_500
    after = client.v1.transfers.retrieve(transfer.id)
    assert (after.amount_reversed, after.reversed) == (1_500, False)
    assert balance(client, seller.id) == {"available": 4_500, "pending": 0}
    assert total(client) - platform == 10_000 - card_fee(10_000) - 4_500
    grouped = client.v1.transfers.list({"transfer_group": "ORDER_42"})
    assert [t.id for t in grouped.data] == [transfer.id]
    platform = total(client)

    # A dispute answered with winning evidence: amount and dispute fee come back.
    won_charge = pay(client, 5_000, "pm_card_createDispute")
    to_win = dispute_of(client, won_charge.id)
    assert to_win.status == "needs_response"
    assert total(client) - platform == 5_000 - card_fee(5_000) - 5_000 - DISPUTE_FEE
    submitted = client.v1.disputes.update(to_win.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
    assert submitted.status == "under_review"
    won = wait_for(lambda: client.v1.disputes.retrieve(to_win.id), lambda d: d.status == "won")
    assert won.status == "won"
    assert total(client) - platform == 5_000 - card_fee(5_000)
    platform = total(client)

    # A dispute conceded by closing it: the amount and the fee stay withdrawn.
    lost_charge = pay(client, 5_000, "pm_card_createDispute")
    to_lose = dispute_of(client, lost_charge.id)
    closed = client.v1.disputes.close(to_lose.id)
    assert closed.status == "lost"
    assert total(client) - platform == 5_000 - card_fee(5_000) - 5_000 - DISPUTE_FEE
    time.sleep(1)  # nothing comes back later
    assert client.v1.disputes.retrieve(to_lose.id).status == "lost"
    assert total(client) - platform == -card_fee(5_000) - DISPUTE_FEE

    # Altogether: the platform kept its fee and the rest of its own sales, less card and dispute fees.
    expected = (1_230 - card_fee(10_000)) + (10_000 - card_fee(10_000) - 4_500) \
        + (5_000 - card_fee(5_000)) + (-card_fee(5_000) - DISPUTE_FEE)
    assert total(client) - start == expected
    assert balance(client, seller.id) == {"available": 4_500, "pending": 0}
