"""Money is conserved: a seeded random sequence of Connect operations on one platform and two
Express sellers, after which every account's ledger adds up to its balance, and all the ledgers
together hold what was charged, less refunds, card fees, lost disputes and money paid out."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import stripe

from tests.conftest import BACKENDS, new_server
from tests.scenarios.test_marketplace import (
    DISPUTE_FEE,
    as_account,
    balance,
    card_fee,
    dispute_of,
    onboarded_express,
    pay,
    total,
    wait_for,
)
from tests.support.server import Server, drop_pg_database

SEEDS = [7, 1234, 90210]
OPERATIONS = 25


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Servers of this module's own: its tests compare balances, which others' work would move."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"conservation-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


@dataclass
class Books:
    """What the test itself did, in cents: the expectation is worked out from these alone."""

    charged: int = 0
    refunded: int = 0
    card_fees: int = 0
    disputes_lost: int = 0
    dispute_fees: int = 0
    paid_out: int = 0
    # Refundable plain charges: id -> amount still refundable.
    charges: dict[str, int] = field(default_factory=dict)
    # Destination charges: id -> (seller, amount still refundable).
    destination: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Transfers: id -> (seller, amount still reversible).
    transfers: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Application fees: id -> amount still refundable.
    fees: dict[str, int] = field(default_factory=dict)
    payouts: list[tuple[str, str | None]] = field(default_factory=list)
    disputes: list[tuple[str, str]] = field(default_factory=list)  # (id, "won" | "lost")
    done: list[str] = field(default_factory=list)

    def expected(self) -> int:
        return (self.charged - self.refunded - self.card_fees - self.disputes_lost
                - self.dispute_fees - self.paid_out)


def all_nets(client: stripe.StripeClient, account: str | None) -> int:
    """The sum of every balance transaction's net, paging through the whole list."""
    nets, seen, params = 0, set(), {"limit": 100}
    while True:
        page = client.v1.balance_transactions.list(params, options=as_account(account))  # type: ignore[arg-type]
        for txn in page.data:
            assert txn.id not in seen, f"{txn.id} listed twice"
            seen.add(txn.id)
            assert txn.net == txn.amount - txn.fee, txn.id
            nets += txn.net
        if not page.has_more:
            return nets
        params = {"limit": 100, "starting_after": page.data[-1].id}


def available(client: stripe.StripeClient, account: str | None = None) -> int:
    return balance(client, account)["available"]


def snapshot(client: stripe.StripeClient, accounts: list[str | None]) -> list[dict[str, int]]:
    return [balance(client, a) for a in accounts]


def step(client: stripe.StripeClient, rng: random.Random, books: Books, sellers: list[str]) -> None:  # noqa: C901, PLR0912, PLR0915
    kind = rng.choice(["charge", "charge", "refund", "destination", "destination_refund", "transfer",
                       "reversal", "fee_refund", "payout", "seller_payout", "dispute", "refused"])
    if kind == "charge" or (kind == "refund" and not books.charges):
        amount = rng.randrange(500, 30_000)
        charge = pay(client, amount)
        books.charged += amount
        books.card_fees += card_fee(amount)
        books.charges[charge.id] = amount
        books.done.append(f"charge {amount}")
    elif kind == "refund":
        charge_id = rng.choice(sorted(books.charges))
        left = books.charges[charge_id]
        amount = left if rng.random() < 0.4 else rng.randrange(1, left + 1)
        if amount > available(client):
            books.done.append("skip refund")
            return
        refund = client.v1.refunds.create({"charge": charge_id, "amount": amount})
        assert refund.status == "succeeded" and refund.amount == amount
        books.refunded += amount
        books.charges[charge_id] = left - amount
        if left == amount:
            del books.charges[charge_id]
        books.done.append(f"refund {amount}")
    elif kind == "destination":
        seller = rng.choice(sellers)
        amount = rng.randrange(1_000, 30_000)
        fee = rng.randrange(0, amount // 3)
        charge = pay(client, amount, transfer_data={"destination": seller}, application_fee_amount=fee)
        books.charged += amount
        books.card_fees += card_fee(amount)
        books.destination[charge.id] = (seller, amount)
        if charge.application_fee:
            books.fees[str(charge.application_fee)] = fee
        books.done.append(f"destination {amount} fee {fee}")
    elif kind == "destination_refund":
        if not books.destination:
            books.done.append("skip destination refund")
            return
        charge_id = rng.choice(sorted(books.destination))
        seller, left = books.destination[charge_id]
        amount = left if rng.random() < 0.4 else rng.randrange(1, left + 1)
        if amount > available(client, seller) or amount > available(client):
            books.done.append("skip destination refund")
            return
        back_fee = rng.random() < 0.5
        client.v1.refunds.create({"charge": charge_id, "amount": amount, "reverse_transfer": True,
                                  "refund_application_fee": back_fee})
        books.refunded += amount
        books.destination[charge_id] = (seller, left - amount)
        if left == amount:
            del books.destination[charge_id]
        if back_fee:
            # The fee refunded with it is refunded in proportion; the fee's own refund ops
            # read what is left from the fee itself.
            charge = client.v1.charges.retrieve(charge_id)
            fee = client.v1.application_fees.retrieve(str(charge.application_fee))
            books.fees[fee.id] = fee.amount - fee.amount_refunded
        books.done.append(f"destination refund {amount} fee back {back_fee}")
    elif kind == "transfer":
        seller = rng.choice(sellers)
        room = available(client)
        if room < 100:
            books.done.append("skip transfer")
            return
        amount = rng.randrange(1, min(room, 20_000) + 1)
        transfer = client.v1.transfers.create({"amount": amount, "currency": "usd", "destination": seller})
        books.transfers[transfer.id] = (seller, amount)
        books.done.append(f"transfer {amount}")
    elif kind == "reversal":
        if not books.transfers:
            books.done.append("skip reversal")
            return
        transfer_id = rng.choice(sorted(books.transfers))
        seller, left = books.transfers[transfer_id]
        amount = min(left, rng.randrange(1, left + 1), available(client, seller))
        if amount <= 0:
            books.done.append("skip reversal")
            return
        client.v1.transfers.reversals.create(transfer_id, {"amount": amount})
        books.transfers[transfer_id] = (seller, left - amount)
        if left == amount:
            del books.transfers[transfer_id]
        books.done.append(f"reversal {amount}")
    elif kind == "fee_refund":
        open_fees = sorted(f for f, left in books.fees.items() if left > 0)
        if not open_fees:
            books.done.append("skip fee refund")
            return
        fee_id = rng.choice(open_fees)
        left = books.fees[fee_id]
        amount = min(left, rng.randrange(1, left + 1), available(client))
        if amount <= 0:
            books.done.append("skip fee refund")
            return
        client.v1.application_fees.refunds.create(fee_id, {"amount": amount})
        books.fees[fee_id] = left - amount
        books.done.append(f"fee refund {amount}")
    elif kind in ("payout", "seller_payout"):
        account = None if kind == "payout" else rng.choice(sellers)
        room = available(client, account)
        if room <= 0:
            books.done.append(f"skip {kind}")
            return
        amount = room if account and rng.random() < 0.5 else rng.randrange(1, room + 1)
        payout = client.v1.payouts.create({"amount": amount, "currency": "usd"}, options=as_account(account))
        books.paid_out += amount
        books.payouts.append((payout.id, account))
        books.done.append(f"{kind} {amount}")
    elif kind == "dispute":
        amount = rng.randrange(1_000, 10_000)
        charge = pay(client, amount, "pm_card_createDispute")
        books.charged += amount
        books.card_fees += card_fee(amount)
        dispute = dispute_of(client, charge.id)
        if rng.random() < 0.5:
            updated = client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
            assert updated.status == "under_review"
            books.disputes.append((dispute.id, "won"))
        else:
            assert client.v1.disputes.close(dispute.id).status == "lost"
            books.disputes.append((dispute.id, "lost"))
            books.disputes_lost += amount
            books.dispute_fees += DISPUTE_FEE
        books.done.append(f"dispute {amount} {books.disputes[-1][1]}")
    else:
        # Something Stripe refuses: a 4xx, and no balance anywhere moves.
        accounts: list[str | None] = [None, *sellers]
        before = snapshot(client, accounts)
        account = rng.choice(accounts)
        with pytest.raises(stripe.InvalidRequestError) as raised:
            choice = rng.randrange(3)
            if choice == 0:
                client.v1.payouts.create({"amount": available(client, account) + 1, "currency": "usd"},
                                         options=as_account(account))
            elif choice == 1 and books.charges:
                charge_id = sorted(books.charges)[0]
                client.v1.refunds.create({"charge": charge_id, "amount": books.charges[charge_id] + 1})
            else:
                client.v1.transfers.create({"amount": 100, "currency": "usd", "destination": "acct_nope"})
        assert 400 <= (raised.value.http_status or 0) < 500
        assert snapshot(client, accounts) == before
        books.done.append("refused")


@pytest.mark.parametrize("seed", SEEDS)
def test_a_random_sequence_conserves_money(client: stripe.StripeClient, seed: int) -> None:
    rng = random.Random(seed)
    sellers = [onboarded_express(client, f"seller{i}@example.com").id for i in range(2)]
    platform_start = total(client)
    assert all_nets(client, None) == platform_start
    books = Books()
    pay(client, 20_000)  # something to start with
    books.charged, books.card_fees = 20_000, card_fee(20_000)
    for _ in range(OPERATIONS):
        step(client, rng, books, sellers)

    # Wait for the background work: payouts settle, disputes resolve.
    for payout_id, account in books.payouts:
        settled = wait_for(lambda p=payout_id, a=account: client.v1.payouts.retrieve(p, options=as_account(a)),
                           lambda p: p.status == "paid")
        assert settled.status == "paid", (payout_id, books.done)
    for dispute_id, outcome in books.disputes:
        resolved = wait_for(lambda d=dispute_id: client.v1.disputes.retrieve(d), lambda d, o=outcome: d.status == o)
        assert resolved.status == outcome, (dispute_id, books.done)

    # Every account's ledger adds up to its balance.
    held = {}
    for account in [None, *sellers]:
        nets = all_nets(client, account)
        assert nets == total(client, account), (account, books.done)
        held[account] = nets
    # And all of them together hold what came in, less what went out of the system.
    moved = held[None] - platform_start + sum(held[s] for s in sellers)
    assert moved == books.expected(), books.done
