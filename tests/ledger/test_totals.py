"""The ledger's running totals: written just before COMMIT in one account order, so money moving
both ways between two accounts at once never deadlocks, and undone with a savepoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from billfold.app import Billfold
from billfold.check import run_checks
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.balance_transactions import balances, record
from billfold.store.db import Database
from billfold.store.objects import Scope
from billfold.wire.handler import ApiRequest, handle
from billfold.wire.params import Int
from billfold.wire.router import Route
from tests.conftest import BACKENDS, new_server
from tests.support.connect import completed_account
from tests.support.inprocess import billfold_in_process
from tests.support.server import Server, drop_pg_database


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: the test compares balances."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"totals-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def usd(client: stripe.StripeClient, account: str | None = None) -> int:
    options: Any = {"stripe_account": account} if account else {}
    found = client.v1.balance.retrieve(options=options)
    return sum(r.amount for part in (found.available, found.pending) for r in part if r.currency == "usd")


def test_transfers_and_reversals_racing_both_ways_all_succeed(server: Server) -> None:
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                 max_network_retries=0)
    seller = client.v1.accounts.create(completed_account(external_account="btok_us_verified"))
    client.v1.payment_intents.create({"amount": 500_000, "currency": "usd",
                                      "payment_method": "pm_card_bypassPending", "confirm": True})
    platform_before, seller_before = usd(client), usd(client, seller.id)
    # Transfers move money platform -> seller, reversals seller -> platform; run together, each
    # transaction touches both accounts' totals, half of them in the opposite order of events.
    transfers = [client.v1.transfers.create({"amount": 1_000, "currency": "usd",
                                             "destination": seller.id}) for _ in range(12)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(3):
                if index % 2:
                    client.v1.transfers.create({"amount": 700, "currency": "usd", "destination": seller.id})
                else:
                    client.v1.transfers.reversals.create(transfers.pop().id, {"amount": 1_000})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # No lock conflict (a 429 the SDK would only hide by retrying), nothing else either.
    assert not errors, errors
    moved = 4 * 3 * 700 - 4 * 3 * 1_000 + 12 * 1_000
    assert usd(client, seller.id) - seller_before == moved
    assert platform_before - usd(client) == moved
    database = Database(server.database_url)
    try:
        report = run_checks(database)
    finally:
        database.dispose()
    assert report.clean, report.text()


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    with billfold_in_process(request.param, tmp_path) as instance:
        yield instance


def test_an_error_after_money_moved_leaves_the_totals_as_they_were(app: Billfold) -> None:
    """An idempotent request's error is remembered and its changes undone by a savepoint: the
    totals it had added must go with the ledger rows (billfold check compares the two)."""

    def pay_then_fail(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        record(ctx, amount=params["amount"], currency="usd", type="adjustment", source=None)
        if params["amount"] > 1_000:
            raise InvalidRequestError("Too much.", param="amount")
        return {"object": "ok", "balance": balances(ctx.tx, ctx.scope, ctx.now)["usd"]}

    app.router.add(Route("POST", "/v1/test_adjustments", pay_then_fail, {"amount": Int()}, "balance", True))
    secret = next(k.secret for k in app.platform_keys if k.kind == "secret" and not k.livemode)

    def call(amount: int, key: str) -> tuple[int, dict[str, Any]]:
        request = ApiRequest("POST", "/v1/test_adjustments", "", f"amount={amount}".encode(),
                             {"authorization": f"Bearer {secret}", "idempotency-key": key})
        response = handle(app, request)
        return response.status, json.loads(response.body)

    status, body = call(400, "first")
    # Inside the transaction, the balance already counts the movement it has not committed.
    assert status == 200 and body["balance"] == {"available": 400, "pending": 0}
    assert call(5_000, "second")[0] == 400
    assert call(5_000, "second")[0] == 400  # replayed, still nothing moved
    with app.db.transaction(write=False) as tx:
        assert balances(tx, Scope(app.platform_account, False), app.clock.now())["usd"] == {
            "available": 400, "pending": 0}
        totals = tx.all("SELECT net FROM ledger_totals WHERE account = :a", a=app.platform_account)
        rows = tx.one("SELECT SUM(net) AS net FROM ledger_entries WHERE account = :a", a=app.platform_account)
    assert [int(t.net) for t in totals] == [int(rows.net)] == [400]
