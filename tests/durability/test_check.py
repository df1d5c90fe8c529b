"""``billfold check``: clean after real traffic of every kind that moves money, and each
deliberate corruption of the database is reported, with exit status 1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from billfold.check import run_checks
from billfold.store.db import Database
from tests.billing.test_subscriptions import customer, price
from tests.durability.cluster import Cluster
from tests.events.conftest import Receiver, eventually
from tests.scenarios.test_marketplace import (
    as_account,
    dispute_of,
    onboarded_express,
    pay,
    wait_for,
)
from tests.support.server import Server, create_pg_database, drop_pg_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def busy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Cluster, dict[str, Any]]]:
    """A server with real traffic on it, and the ids of what the traffic made."""
    workdir: Path = tmp_path_factory.mktemp(f"check-{request.param}")
    url = str(workdir / "billfold.db") if request.param == "sqlite" else create_pg_database()
    cluster = Cluster(url, workdir)
    receiver = Receiver().start()
    try:
        cluster.start()
        made = _traffic(cluster.client(), receiver)
        yield cluster, made
    finally:
        receiver.stop()
        cluster.stop()
        if request.param == "postgres":
            drop_pg_database(url)


def _traffic(client: stripe.StripeClient, receiver: Receiver) -> dict[str, Any]:
    client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["*"]})
    seller = onboarded_express(client)
    as_seller = as_account(seller.id)
    # A destination charge with an application fee, part of the fee given back, a payout.
    pay(client, 10_000, transfer_data={"destination": seller.id}, application_fee_amount=1230)
    fee = client.v1.application_fees.list({"limit": 1}).data[0]
    client.v1.application_fees.refunds.create(fee.id, {"amount": 230})
    payout = client.v1.payouts.create({"amount": 1_000, "currency": "usd"}, options=as_seller)
    # A separate charge and transfer, partly reversed.
    pay(client, 10_000)
    transfer = client.v1.transfers.create({"amount": 6_000, "currency": "usd", "destination": seller.id})
    client.v1.transfers.reversals.create(transfer.id, {"amount": 1_500})
    # Refunds: whole, partial, and one that fails later.
    whole = pay(client, 3_000, "pm_card_visa")
    client.v1.refunds.create({"charge": whole.id})
    partial = pay(client, 4_000, "pm_card_visa")
    refund = client.v1.refunds.create({"charge": partial.id, "amount": 1_000})
    failing = client.v1.refunds.create({"charge": pay(client, 2_500, "pm_card_refundFail").id})
    # Disputes: one won with evidence, one conceded.
    to_win = dispute_of(client, pay(client, 5_000, "pm_card_createDispute").id)
    client.v1.disputes.update(to_win.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
    client.v1.disputes.close(dispute_of(client, pay(client, 5_000, "pm_card_createDispute").id).id)
    # A subscription, paid at once.
    subscription = client.v1.subscriptions.create(
        {"customer": customer(client), "items": [{"price": price(client)}]}
    )
    assert subscription.status == "active"
    # Let the workers finish: the dispute is decided, the refund fails, the payout lands.
    assert wait_for(lambda: client.v1.disputes.retrieve(to_win.id).status, lambda s: s == "won") == "won"
    assert wait_for(lambda: client.v1.refunds.retrieve(failing.id).status,
                    lambda s: s == "failed") == "failed"
    assert wait_for(lambda: client.v1.payouts.retrieve(payout.id, options=as_seller).status,
                    lambda s: s == "paid") == "paid"
    events = client.v1.events.list({"limit": 100}).data
    eventually(lambda: all(client.v1.events.retrieve(e.id).pending_webhooks == 0 for e in events[:5]))
    return {"seller": seller.id, "refund": refund, "charge": partial, "events": [e.id for e in events]}


def _differences(cluster: Cluster) -> tuple[int, list[dict[str, Any]]]:
    code, report = cluster.check()
    return code, report["differences"]


def test_real_traffic_checks_clean(busy: tuple[Cluster, dict[str, Any]]) -> None:
    cluster, _ = busy
    code, report = cluster.check()
    assert report["differences"] == [] and code == 0
    counted = report["counted"]
    assert counted["balance transactions"] >= 20 and counted["events"] >= 30
    assert counted["deliveries"] >= 30 and counted["balances"] >= 2
    text = cluster.cli("check")
    assert text.returncode == 0 and text.stdout.startswith("billfold check: clean")


def test_each_corruption_is_reported(busy: tuple[Cluster, dict[str, Any]]) -> None:
    cluster, made = busy
    refund_txn = str(made["refund"].balance_transaction)
    charge_txn = str(made["charge"].balance_transaction)
    db = Database(cluster.database_url)
    try:
        with db.transaction() as tx:
            # A balance transaction deleted outright, from the ledger and the API's objects.
            tx.execute("DELETE FROM ledger_entries WHERE id = :id", id=refund_txn)
            tx.execute("DELETE FROM objects WHERE id = :id", id=refund_txn)
            # A charge's ledger row changed: 1 cent more than was captured.
            tx.execute("UPDATE ledger_entries SET amount = amount + 1, net = net + 1 WHERE id = :id",
                       id=charge_txn)
            # A webhook delivery row lost, and another claimed for ten days.
            lost = tx.one("SELECT id, event FROM webhook_deliveries ORDER BY seq LIMIT 1")
            assert lost is not None
            tx.execute("DELETE FROM webhook_deliveries WHERE id = :id", id=lost.id)
            stuck = tx.one("SELECT id, event FROM webhook_deliveries ORDER BY seq DESC LIMIT 1")
            assert stuck is not None
            tx.execute("UPDATE webhook_deliveries SET status = 'pending', claimed_until = :until "
                       "WHERE id = :id", id=stuck.id, until=time.time() + 10 * 86_400)
    finally:
        db.dispose()

    code, found = _differences(cluster)
    assert code == 1

    def about(check: str, id: str | None = None) -> list[str]:
        return [d["detail"] for d in found if d["check"] == check and (id is None or d["id"] == id)]

    assert any("not in the ledger" in d for d in about("source", refund_txn)), found
    assert any("amount is" in d for d in about("ledger", charge_txn)), found
    assert any("does not match its source" in d for d in about("source", charge_txn)), found
    assert any("add up to" in d and "difference 1" in d for d in about("balance")), found
    assert any("delivery row" in d for d in about("webhooks", lost.event)), found
    assert any("far in the future" in d for d in about("webhooks", stuck.event)), found
    text = cluster.cli("check")
    assert text.returncode == 1
    assert refund_txn in text.stdout and charge_txn in text.stdout and lost.event in text.stdout


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_an_endpoint_widened_or_enabled_later_is_not_a_difference(fresh_server: Server) -> None:
    """Events made before an endpoint took them have no delivery to it, and must not be
    reported as missing one."""
    server = fresh_server.start()
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                 max_network_retries=0)
    narrow = client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/narrow",
                                                 "enabled_events": ["customer.created"]})
    paused = client.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/paused",
                                                 "enabled_events": ["*"]})
    client.v1.webhook_endpoints.update(paused.id, {"disabled": True})
    made = client.v1.customers.create({"email": "before@example.com"})
    client.v1.customers.update(made.id, {"name": "Before"})  # customer.updated: no endpoint took it
    client.v1.webhook_endpoints.update(narrow.id, {"enabled_events": ["*"]})
    client.v1.webhook_endpoints.update(paused.id, {"disabled": False})
    database = Database(server.database_url)
    try:
        report = run_checks(database)
        assert report.clean, report.text()
        # Events after the change are held to both endpoints: losing one is reported, by count
        # and by endpoint (times are in seconds: the event must come a second after the change).
        time.sleep(1.1)
        client.v1.customers.update(made.id, {"name": "After"})
        with database.transaction() as tx:
            tx.execute("DELETE FROM webhook_deliveries WHERE endpoint = :e AND event = "
                       "(SELECT id FROM objects WHERE object = 'event' AND kind = 'customer.updated' "
                       "ORDER BY seq DESC LIMIT 1)", e=narrow.id)
        report = run_checks(database)
    finally:
        database.dispose()
    assert [d.check for d in report.differences] == ["webhooks", "webhooks"], report.text()
    assert any(f"no delivery to {narrow.id}" in d.detail for d in report.differences)
