"""Several processes on one PostgreSQL, correct together: ``billfold serve --workers 3
--no-worker`` beside two ``billfold worker`` processes. One idempotency key sent to several
processes at once makes one payment; each webhook delivery is attempted by one worker, and a
worker killed mid-delivery loses none; each subscription renewal is billed once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import stripe

from billfold.ledger.pricing import settings_command
from billfold.store.db import Database
from tests.billing.test_subscriptions import customer, price
from tests.durability.cluster import Cluster
from tests.events.conftest import Receiver, eventually, verified
from tests.support.server import create_pg_database, drop_pg_database


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("scaleout")
    url = create_pg_database()
    # Renewal invoices are charged at once, not after Stripe's hour as drafts (in-process: each
    # extra Python process costs seconds on a busy machine).
    assert settings_command(url, ["renewal_invoice_delay=0"]) == 0
    instance = Cluster(url, workdir, api_processes=3, run_worker=False)
    try:
        instance.start_worker(wait=False)
        instance.start_worker(wait=False)
        instance.start()
        instance.wait_for_workers()
        yield instance
    finally:
        instance.stop()
        drop_pg_database(url)


def test_requests_reach_several_processes(cluster: Cluster) -> None:
    assert len(cluster.serving_pids(enough=2)) >= 2
    assert cluster.pids()["worker"] is None  # --no-worker: the two worker processes do it


def _race(cluster: Cluster, key: str, params: dict[str, Any], senders: int = 8) -> list[Any]:
    """``senders`` identical requests with one key, released together; each answer or error."""
    start = threading.Barrier(senders)
    outcomes: list[Any] = []

    def send() -> None:
        client = cluster.client()  # a connection of its own: the kernel picks its process
        start.wait()
        try:
            outcomes.append(client.v1.payment_intents.create(params, {"idempotency_key": key}))  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_one_key_sent_to_several_processes_at_once_pays_once(cluster: Cluster) -> None:
    for round_ in range(5):
        key = f"race-{round_}"
        params = {"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa",
                  "confirm": True, "payment_method_types": ["card"], "metadata": {"race": key}}
        outcomes = _race(cluster, key, params)
        made = {o.id for o in outcomes if not isinstance(o, stripe.StripeError)}
        refused = [o for o in outcomes if isinstance(o, stripe.StripeError)]
        assert len(made) == 1 and len(outcomes) == 8, outcomes
        for error in refused:
            # Stripe's answer to a concurrent request with the same key, which the SDK may retry.
            # (stripe-python raises a 409 as a plain APIError; the code is in its body.)
            assert error.http_status == 409, error
            body: Any = error.json_body
            assert body["error"]["code"] == "idempotency_key_in_use", body
            assert error.headers is not None and error.headers.get("Stripe-Should-Retry") == "true"
        again = cluster.client().v1.payment_intents.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
        assert again.id in made
    intents = cluster.client().v1.payment_intents.list({"limit": 100}).data
    counts = Counter(i.metadata.to_dict().get("race") for i in intents)
    assert {k: v for k, v in counts.items() if k} == {f"race-{n}": 1 for n in range(5)}


def _make_customers(client: stripe.StripeClient, prefix: str, count: int) -> list[str]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(
            lambda n: client.v1.customers.create({"email": f"{prefix}-{n}@example.com"}).id, range(count)
        ))


def _attempts(cluster: Cluster, endpoint: str) -> dict[str, int]:
    """Attempts each event's delivery to ``endpoint`` has recorded."""
    db = Database(cluster.database_url)
    try:
        with db.transaction(write=False) as tx:
            rows = tx.all(
                "SELECT d.event, COUNT(a.seq) AS n FROM webhook_deliveries d LEFT JOIN "
                "webhook_attempts a ON a.delivery = d.id WHERE d.endpoint = :endpoint GROUP BY d.event",
                endpoint=endpoint,
            )
        return {row.event: int(row.n) for row in rows}
    finally:
        db.dispose()


def test_webhooks_through_an_outage_and_a_killed_worker(cluster: Cluster) -> None:
    client = cluster.client()
    receiver = Receiver()  # not listening: connections are refused
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    assert endpoint.secret is not None
    try:
        # An outage: every first attempt (and some retries) fails, then the endpoint comes back.
        first = _make_customers(client, "outage", 16)
        time.sleep(2.5)
        receiver.start()
        receiver.wait_for(lambda r: all(r.about(c) for c in first), timeout=30)
        time.sleep(1.5)  # time for any second, wrongful, delivery to arrive
        assert [len(receiver.about(c)) for c in first] == [1] * len(first)
        events = {c: verified(receiver.about(c)[0], endpoint.secret) for c in first}
        assert all(e.type == "customer.created" and e.data.object.id == c for c, e in events.items())
        # Each attempt the workers recorded is one request made: the refused ones, then one 200.
        attempts = _attempts(cluster, endpoint.id)
        assert all(attempts[e.id] >= 2 for e in events.values()), attempts

        # A worker killed -9 in the middle of deliveries: its claims lapse, the other (and its
        # replacement) deliver everything.
        receiver.delay = 0.4
        second = _make_customers(client, "killed", 16)
        receiver.wait_for(lambda r: sum(bool(r.about(c)) for c in second) >= 3, timeout=20)
        cluster.workers[0].kill()
        cluster.workers[0].wait()
        cluster.workers.pop(0)
        cluster.start_worker()
        receiver.wait_for(lambda r: all(r.about(c) for c in second), timeout=40)
        for customer_id in second:
            received = receiver.about(customer_id)
            ids = {verified(r, endpoint.secret).id for r in received}
            assert len(ids) == 1, f"{customer_id} got several events"
        created = [e for e in client.v1.events.list({"type": "customer.created", "limit": 100}).data
                   if e.data.object.id in set(second)]
        assert len(created) == len(second)
        eventually(lambda: all(client.v1.events.retrieve(e.id).pending_webhooks == 0 for e in created),
                   timeout=30)
    finally:
        client.v1.webhook_endpoints.delete(endpoint.id)
        receiver.stop()


def test_each_renewal_is_billed_once_by_several_workers(cluster: Cluster) -> None:
    client = cluster.client()
    plan = price(client, amount=700)
    customers = [customer(client) for _ in range(6)]
    # The renewal falls due a few seconds from now, for all six at once.
    anchor = int(time.time()) + 6
    with ThreadPoolExecutor(3) as pool:
        subscriptions = list(pool.map(lambda cus: client.v1.subscriptions.create(
            {"customer": cus, "items": [{"price": plan}], "billing_cycle_anchor": anchor,
             "proration_behavior": "none"}
        ), customers))
    assert time.time() < anchor, "the machine is too slow for this test's timing"

    def renewed() -> bool:
        return all(client.v1.subscriptions.retrieve(s.id)["items"].data[0].current_period_start == anchor
                   for s in subscriptions)

    eventually(renewed, timeout=30)
    time.sleep(2.0)  # a second, wrongful, run of a renewal would show by now
    for subscription in subscriptions:
        invoices = client.v1.invoices.list({"subscription": subscription.id, "limit": 20}).data
        cycles = [i for i in invoices if i.billing_reason == "subscription_cycle"]
        shown = [(i.billing_reason, i.status, i.amount_paid) for i in invoices]
        assert [(i.status, i.amount_paid) for i in cycles] == [("paid", 700)], shown
        charges = client.v1.charges.list({"customer": str(subscription.customer), "limit": 20}).data
        assert [c.amount for c in charges if c.amount_captured] == [700]
    code, report = cluster.check()
    assert code == 0, report["differences"]


def _requests_counted(text: str) -> float:
    """Successful customer creates in a Prometheus text page."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("billfold_http_requests_total{") and 'route="/v1/customers"' in line \
                and 'method="POST"' in line and 'status="200"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_from_any_process_sum_every_process(cluster: Cluster) -> None:
    import httpx

    before = _requests_counted(httpx.get(f"{cluster.url}/metrics", timeout=10).text)
    clients = [cluster.client() for _ in range(6)]
    for client in clients:  # connections of their own, spread by the kernel over the processes
        for _ in range(5):
            client.v1.customers.create({"email": "metrics@example.com"})
    # Each scrape lands on some process; every one of them reports all 30 requests.
    for _ in range(6):
        with httpx.Client() as fresh:
            counted = _requests_counted(fresh.get(f"{cluster.url}/metrics", timeout=10).text)
        assert counted - before == 30
