"""Scheduled jobs: durable across restarts, run once among several workers, retried, then failed.

The first tests drive real servers with the SDK (a test card refund settles through a job);
the rest use the job queue in-process against the same two databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from billfold import jobs
from billfold.app import Billfold
from billfold.config import Settings
from billfold.context import Ctx
from billfold.store.objects import Scope
from billfold.wire.versions import LATEST
from billfold.workers.jobs import JobWorker
from tests.support.server import Server, create_pg_database, drop_pg_database

BOTH = pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)


def sdk(server: Server) -> stripe.StripeClient:
    return stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, max_network_retries=0)


def refund_with(client: stripe.StripeClient, method: str) -> stripe.Refund:
    intent = client.v1.payment_intents.create(
        {"amount": 1500, "currency": "usd", "payment_method": method, "confirm": True}
    )
    return client.v1.refunds.create({"payment_intent": intent.id})


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def events_about(client: stripe.StripeClient, event_type: str) -> Counter[str]:
    """How many events of one type each object has."""
    listed = client.v1.events.list({"type": event_type, "limit": 100}).data
    return Counter(str(e.data.object.to_dict().get("id")) for e in listed)


# Through the server


@BOTH
def test_a_refund_settles_after_the_server_is_killed_and_restarted(fresh_server: Server) -> None:
    client = sdk(fresh_server.start())
    pending = refund_with(client, "pm_card_pendingRefund")
    failing = refund_with(client, "pm_card_refundFail")
    fresh_server.kill()
    assert (pending.status, failing.status) == ("pending", "succeeded")

    client = sdk(fresh_server.start())
    settled = wait_for(lambda: client.v1.refunds.retrieve(pending.id), lambda r: r.status != "pending")
    assert settled.status == "succeeded"
    assert "pending_reason" not in settled.to_dict()
    failed = wait_for(lambda: client.v1.refunds.retrieve(failing.id), lambda r: r.status != "succeeded")
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    back = client.v1.balance_transactions.retrieve(str(failed.failure_balance_transaction))
    assert (back.amount, back.type, back.source) == (1500, "refund_failure", failing.id)
    assert events_about(client, "refund.updated")[pending.id] == 1
    assert events_about(client, "refund.failed")[failing.id] == 1


@pytest.mark.parametrize("fresh_server", ["postgres"], indirect=True)
def test_each_job_runs_once_beside_a_second_worker_process(fresh_server: Server) -> None:
    client = sdk(fresh_server.start())
    worker = subprocess.Popen(
        [sys.executable, "-m", "billfold", "worker", "--database", fresh_server.database_url],
        cwd=fresh_server.workdir,
        env={**os.environ, "BILLFOLD_SECRET_KEY": fresh_server.secret_key,
             "BILLFOLD_PUBLISHABLE_KEY": fresh_server.publishable_key},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        refunds: list[stripe.Refund] = []
        lock = threading.Lock()

        def make(method: str) -> None:
            made = refund_with(sdk(fresh_server), method)
            with lock:
                refunds.append(made)

        methods = ["pm_card_pendingRefund", "pm_card_refundFail"] * 8
        threads = [threading.Thread(target=make, args=(method,)) for method in methods]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(refunds) == len(methods)

        def unsettled() -> list[str]:
            return [
                r.id for r in refunds
                if client.v1.refunds.retrieve(r.id).status == ("pending" if r.status == "pending" else "succeeded")
            ]

        assert wait_for(unsettled, lambda left: not left, seconds=30) == []
        assert worker.poll() is None, "the worker process died"
    finally:
        worker.terminate()
        worker.wait(15)

    updated, failed = events_about(client, "refund.updated"), events_about(client, "refund.failed")
    for refund in refunds:
        if refund.status == "pending":
            assert updated[refund.id] == 1
        else:
            assert failed[refund.id] == 1
    failures = client.v1.balance_transactions.list({"type": "refund_failure", "limit": 100}).data
    assert sorted(t.source for t in failures) == sorted(r.id for r in refunds if r.status == "succeeded")


# In-process, against the job table


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "jobs.db")
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def started(url: str) -> Billfold:
    app = Billfold(Settings(database_url=url))
    app.start()
    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Billfold]:
    instance = started(database_url)
    yield instance
    instance.db.dispose()


def schedule(app: Billfold, kind: str, target: str, delay: float = 0.0) -> str:
    with app.db.transaction() as tx:
        ctx = Ctx(app, tx, Scope(app.platform_account, False), LATEST, app.clock.now())
        return jobs.schedule(ctx, kind, target, app.clock.precise() + delay)


def job_row(app: Billfold, job_id: str) -> dict[str, Any]:
    with app.db.transaction(write=False) as tx:
        row = tx.one("SELECT * FROM jobs WHERE id = :id", id=job_id)
    assert row is not None
    return row._asdict()


def test_a_job_runs_when_due_and_is_marked_done(app: Billfold, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, str, bool]] = []
    monkeypatch.setitem(
        jobs.HANDLERS, "test.note", lambda ctx, target: ran.append((target, ctx.scope.account, ctx.livemode))
    )
    now_id = schedule(app, "test.note", "now")
    later_id = schedule(app, "test.note", "later", delay=3600)
    assert job_row(app, now_id)["id"].startswith("job_")

    assert JobWorker(app).run_due() == 1
    assert ran == [("now", app.platform_account, False)]
    done = job_row(app, now_id)
    assert (done["status"], done["attempts"], done["claimed_until"], done["last_error"]) == ("done", 1, None, None)
    assert job_row(app, later_id)["status"] == "pending"
    assert JobWorker(app).run_due() == 0


def test_a_failing_job_is_retried_and_its_changes_are_undone(
    app: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def flaky(ctx: Ctx, target: str) -> None:
        calls.append(target)
        jobs.schedule(ctx, "test.note", f"side effect {len(calls)}", 0.0)
        if len(calls) == 1:
            raise RuntimeError("card network unreachable")

    monkeypatch.setitem(jobs.HANDLERS, "test.flaky", flaky)
    monkeypatch.setitem(jobs.HANDLERS, "test.note", lambda ctx, target: None)
    job_id = schedule(app, "test.flaky", "x")
    JobWorker(app, retry_delays=(0.0, 0.0)).run_due()

    assert calls == ["x", "x"]
    row = job_row(app, job_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("done", 2, None)
    with app.db.transaction(write=False) as tx:
        targets = [r.target for r in tx.all("SELECT target FROM jobs WHERE kind = 'test.note'")]
    # The failed attempt's job insert rolled back with it; the second attempt's committed.
    assert targets == ["side effect 2"]


def test_a_job_that_keeps_failing_is_marked_failed_with_its_error(
    app: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Ctx, target: str) -> None:
        raise ValueError(f"no such thing as {target}")

    monkeypatch.setitem(jobs.HANDLERS, "test.broken", broken)
    job_id = schedule(app, "test.broken", "x")
    worker = JobWorker(app, retry_delays=(0.0, 0.0))
    assert worker.run_due() == 0
    row = job_row(app, job_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["last_error"] == "ValueError: no such thing as x"
    assert worker.run_due() == 0

    slow = schedule(app, "test.broken", "y")
    JobWorker(app, retry_delays=(3600.0,)).run_due()
    row = job_row(app, slow)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["run_at"] > app.clock.precise() + 3000


def test_scheduling_an_unknown_kind_is_refused(app: Billfold) -> None:
    with pytest.raises(ValueError, match="no handler"):
        schedule(app, "test.nobody", "x")


def test_the_worker_thread_wakes_for_a_new_job(app: Billfold, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = threading.Event()
    monkeypatch.setitem(jobs.HANDLERS, "test.wake", lambda ctx, target: ran.set())
    worker = JobWorker(app)
    worker.start()
    try:
        schedule(app, "test.wake", "x", delay=0.3)
        assert ran.wait(5)
    finally:
        worker.stop()


def test_concurrent_workers_run_each_job_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def count(ctx: Ctx, target: str) -> None:
        with lock:
            runs[target] += 1

    monkeypatch.setitem(jobs.HANDLERS, "test.count", count)
    # Separate apps stand in for separate processes: each has its own engine and connections.
    apps = [started(database_url) for _ in range(3)]
    try:
        for n in range(60):
            schedule(apps[0], "test.count", f"t{n}")
        workers = [threading.Thread(target=JobWorker(a, threads=2).run_due) for a in apps]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    finally:
        for instance in apps:
            instance.db.dispose()
    assert runs == Counter({f"t{n}": 1 for n in range(60)})
