"""Money conservation and idempotency, as a Hypothesis state machine against a real server.

Hypothesis picks random sequences of payments (good and declined cards), manual captures,
refunds, transfers to a connected account, payouts, disputes, and replays of earlier requests
under their Idempotency-Key (with the same and with different parameters). The machine keeps
its own books: what each operation should do to each account's balance, worked out from the
operation alone. After every step, for the platform and the connected account:

    balance (available + pending, from /v1/balance)
        == sum of the balance transactions' nets (/v1/balance_transactions)
        == what the machine's books say

Nothing is reset between runs: each run measures from the balances and ledger it starts with.
Which rules can run, and whether a refund, transfer or payout goes ahead, depends only on the
machine's own books (``spendable``), never on balances read from the server: Hypothesis replays
a sequence of choices and needs the same choices to lead to the same rules, while the server's
balances carry over from earlier runs.
This is the property-based sibling of ``tests/scenarios/test_money_conservation.py`` (seeded
random sequences), and uses its helpers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import BACKENDS, new_server
from tests.scenarios.test_marketplace import (
    DISPUTE_FEE,
    as_account,
    balance,
    card_fee,
    dispute_of,
    onboarded_express,
    total,
)
from tests.support.server import Server, drop_pg_database

# Funds from bypassPending are available at once, so refunds, transfers and payouts have room.
GOOD_CARDS = ("pm_card_bypassPending", "pm_card_bypassPending", "pm_card_visa", "pm_card_mastercard")
FUNDING = 2_000_000
# Of each run's funding, what its refunds, transfers, payouts and disputes may spend: the rest
# covers the card fee and whatever earlier runs left owing (disputes can take the balance below 0).
SPENDABLE = 1_000_000
DECLINED_CARDS = ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds")
AMOUNTS = st.integers(min_value=100, max_value=50_000)
PICK = st.integers(min_value=0, max_value=10_000)  # an index into one of the machine's lists


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its balances move only with this module's operations."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"stateful-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


@pytest.fixture(scope="module")
def seller(server: Server) -> str:
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url})
    return onboarded_express(client, "stateful-seller@example.com").id


@dataclass
class Sent:
    """A request sent with an Idempotency-Key, to be replayed later."""

    kind: str  # "payment", "refund", "transfer", "payout"
    key: str
    params: dict[str, Any]
    result_id: str


class Ledger:
    """One account's ledger: the nets of the balance transactions that existed at the start,
    and of every one seen since, so each check reads only what is new."""

    def __init__(self, client: stripe.StripeClient, account: str | None) -> None:
        self.client, self.account = client, account
        self.since = int(time.time()) - 2
        self.seen: set[str] = set()
        self.nets = 0
        self._read(None)

    def _read(self, created_gte: int | None) -> None:
        params: dict[str, Any] = {"limit": 100}
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        page = self.client.v1.balance_transactions.list(params, options=as_account(self.account))  # type: ignore[arg-type]
        for txn in page.auto_paging_iter():
            if txn.id in self.seen:
                continue
            assert txn.net == txn.amount - txn.fee, txn.id
            self.seen.add(txn.id)
            if txn.currency == "usd":
                self.nets += txn.net

    def sum_of_nets(self) -> int:
        self._read(self.since)
        return self.nets


class MoneyMachine(RuleBasedStateMachine):
    client: stripe.StripeClient
    seller: str

    def __init__(self) -> None:
        super().__init__()
        self.start = {None: total(self.client), self.seller: total(self.client, self.seller)}
        self.ledgers = {account: Ledger(self.client, account) for account in self.start}
        # The machine's books: how far each account's balance should have moved since the start.
        self.moved: dict[str | None, int] = {None: 0, self.seller: 0}
        self.customers: list[str] = []
        self.refundable: dict[str, int] = {}  # charge id -> amount not yet refunded
        self.authorized: dict[str, int] = {}  # uncaptured payment intent id -> amount
        self.sent: list[Sent] = []
        self.log: list[str] = []
        # Something available to move, and enough to cover what earlier runs left owing.
        owing = max(0, -self._available())
        self.pay(FUNDING + owing, "pm_card_bypassPending", 0, False)
        # Its size depends on the server's state, so it is not one of the machine's to refund/replay.
        self.sent.clear()
        self.refundable.clear()
        self.spendable = {None: SPENDABLE, self.seller: 0}

    def _key(self) -> str:
        return f"stateful-{uuid.uuid4()}"

    def _available(self, account: str | None = None) -> int:
        return balance(self.client, account)["available"]

    # Rules

    @rule()
    def create_customer(self) -> None:
        customer = self.client.v1.customers.create({"email": "buyer@example.com"})
        self.customers.append(customer.id)
        self.log.append(f"customer {customer.id}")

    @rule(amount=AMOUNTS, card=st.sampled_from(GOOD_CARDS), pick=PICK, with_customer=st.booleans())
    def pay(self, amount: int, card: str, pick: int, with_customer: bool) -> None:
        params: dict[str, Any] = {"amount": amount, "currency": "usd", "payment_method": card,
                                  "confirm": True, "payment_method_types": ["card"]}
        if with_customer and self.customers:
            params["customer"] = self.customers[pick % len(self.customers)]
        key = self._key()
        intent = self.client.v1.payment_intents.create(params, options={"idempotency_key": key})  # type: ignore[arg-type]
        assert intent.status == "succeeded" and intent.amount_received == amount
        self.refundable[str(intent.latest_charge)] = amount
        self.moved[None] += amount - card_fee(amount)
        self.sent.append(Sent("payment", key, params, intent.id))
        self.log.append(f"pay {amount} {card}")

    @rule(amount=AMOUNTS, card=st.sampled_from(DECLINED_CARDS))
    def declined(self, amount: int, card: str) -> None:
        params = {"amount": amount, "currency": "usd", "payment_method": card, "confirm": True,
                  "payment_method_types": ["card"]}
        with pytest.raises(stripe.CardError) as raised:
            self.client.v1.payment_intents.create(params)  # type: ignore[arg-type]
        assert raised.value.http_status == 402 and raised.value.code == "card_declined"
        self.log.append(f"declined {amount} {card}")

    @rule(amount=AMOUNTS)
    def authorize(self, amount: int) -> None:
        intent = self.client.v1.payment_intents.create({
            "amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
            "payment_method_types": ["card"], "capture_method": "manual"})
        assert intent.status == "requires_capture"
        self.authorized[intent.id] = amount
        self.log.append(f"authorize {amount}")

    @precondition(lambda self: bool(self.authorized))
    @rule(pick=PICK, share=st.floats(min_value=0.01, max_value=1.0))
    def capture(self, pick: int, share: float) -> None:
        intent_id = sorted(self.authorized)[pick % len(self.authorized)]
        authorized = self.authorized.pop(intent_id)
        amount = max(1, min(authorized, round(authorized * share)))
        captured = self.client.v1.payment_intents.capture(intent_id, {"amount_to_capture": amount})
        assert captured.status == "succeeded" and captured.amount_received == amount
        self.refundable[str(captured.latest_charge)] = amount
        self.moved[None] += amount - card_fee(amount)
        self.log.append(f"capture {amount} of {authorized}")

    @precondition(lambda self: any(left > 0 for left in self.refundable.values()))
    @rule(pick=PICK, full=st.booleans(), share=st.floats(min_value=0.01, max_value=1.0))
    def refund(self, pick: int, full: bool, share: float) -> None:
        open_charges = sorted(c for c, left in self.refundable.items() if left > 0)
        charge = open_charges[pick % len(open_charges)]
        left = self.refundable[charge]
        amount = left if full else max(1, min(left, round(left * share)))
        if amount > self.spendable[None]:
            self.log.append("skip refund: not enough spendable")
            return
        params = {"charge": charge, "amount": amount}
        key = self._key()
        refund = self.client.v1.refunds.create(params, options={"idempotency_key": key})  # type: ignore[arg-type]
        assert refund.status == "succeeded" and refund.amount == amount
        self.refundable[charge] = left - amount
        self.moved[None] -= amount
        self.spendable[None] -= amount
        self.sent.append(Sent("refund", key, params, refund.id))
        self.log.append(f"refund {amount} of {left}")

    @rule(share=st.floats(min_value=0.01, max_value=0.5))
    def transfer(self, share: float) -> None:
        room = self.spendable[None]
        if room < 100:
            self.log.append("skip transfer: not enough spendable")
            return
        amount = max(1, round(room * share))
        params = {"amount": amount, "currency": "usd", "destination": self.seller}
        key = self._key()
        transfer = self.client.v1.transfers.create(params, options={"idempotency_key": key})  # type: ignore[arg-type]
        assert transfer.amount == amount
        self.moved[None] -= amount
        self.moved[self.seller] += amount
        self.spendable[None] -= amount
        self.spendable[self.seller] += amount
        self.sent.append(Sent("transfer", key, params, transfer.id))
        self.log.append(f"transfer {amount}")

    @rule(share=st.floats(min_value=0.01, max_value=1.0), from_seller=st.booleans())
    def payout(self, share: float, from_seller: bool) -> None:
        account = self.seller if from_seller else None
        room = self.spendable[account]
        if room <= 0:
            self.log.append("skip payout: nothing spendable")
            return
        amount = max(1, min(room, round(room * share)))
        params = {"amount": amount, "currency": "usd"}
        payout = self.client.v1.payouts.create(params, options=as_account(account))  # type: ignore[arg-type]
        assert payout.amount == amount
        self.moved[account] -= amount
        self.spendable[account] -= amount
        self.log.append(f"payout {amount} from {'seller' if from_seller else 'platform'}")

    @rule(amount=st.integers(min_value=500, max_value=20_000), lose=st.booleans())
    def dispute(self, amount: int, lose: bool) -> None:
        intent = self.client.v1.payment_intents.create({
            "amount": amount, "currency": "usd", "payment_method": "pm_card_createDispute",
            "confirm": True, "payment_method_types": ["card"]})
        assert intent.status == "succeeded"
        opened = dispute_of(self.client, str(intent.latest_charge))
        assert opened.amount == amount
        # The charge comes in, then the disputed amount and the dispute fee go out at once.
        self.moved[None] += amount - card_fee(amount) - amount - DISPUTE_FEE
        self.spendable[None] -= amount + DISPUTE_FEE
        if lose:
            # Accepting the loss moves nothing more: the money left when the dispute opened.
            assert self.client.v1.disputes.close(opened.id).status == "lost"
        self.log.append(f"dispute {amount}{' lost' if lose else ''}")

    @precondition(lambda self: bool(self.sent))
    @rule(pick=PICK)
    def replay(self, pick: int) -> None:
        """The same key and parameters: the first answer again, and no money moves."""
        sent = self.sent[pick % len(self.sent)]
        again = self._send(sent.kind, sent.params, sent.key)
        assert again.id == sent.result_id
        self.log.append(f"replay {sent.kind}")

    @precondition(lambda self: bool(self.sent))
    @rule(pick=PICK)
    def reuse_key_with_other_params(self, pick: int) -> None:
        """The same key with different parameters: Stripe's 400 idempotency_error, nothing done."""
        sent = self.sent[pick % len(self.sent)]
        changed = {**sent.params, "metadata": {"changed": "yes"}}
        with pytest.raises(stripe.IdempotencyError) as raised:
            self._send(sent.kind, changed, sent.key)
        assert raised.value.http_status == 400
        assert (raised.value.error.type if raised.value.error else None) == "idempotency_error"
        self.log.append(f"conflicting key {sent.kind}")

    def _send(self, kind: str, params: dict[str, Any], key: str) -> Any:
        options: Any = {"idempotency_key": key}
        v1 = self.client.v1
        if kind == "payment":
            return v1.payment_intents.create(params, options=options)  # type: ignore[arg-type]
        if kind == "refund":
            return v1.refunds.create(params, options=options)  # type: ignore[arg-type]
        return v1.transfers.create(params, options=options)  # type: ignore[arg-type]

    # The property

    @invariant()
    def money_is_conserved(self) -> None:
        for account, start in self.start.items():
            held = total(self.client, account)
            name = "platform" if account is None else "seller"
            assert held == self.ledgers[account].sum_of_nets(), (name, "balance != ledger", self.log)
            assert held - start == self.moved[account], (name, "balance != books", self.log)


def test_random_operation_sequences_conserve_money(server: Server, seller: str) -> None:
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                 max_network_retries=0)

    class Machine(MoneyMachine):
        pass

    Machine.client = client
    Machine.seller = seller
    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=15, stateful_step_count=20, deadline=None, derandomize=True,
                          database=None, suppress_health_check=list(HealthCheck)),
    )
