"""Automatic payouts on a connected account's payout schedule."""

from __future__ import annotations

import calendar
import datetime
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from billfold.app import Billfold
from billfold.clock import Clock
from billfold.config import Settings
from billfold.store.db import normalize_url
from billfold.workers.jobs import JobWorker
from tests.conftest import BACKENDS, new_server
from tests.connect.test_transfers import pay, seller
from tests.support.server import Server, drop_pg_database

DAY = 86_400


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Servers of this module's own: its tests run every due job, which others' jobs would join."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"schedule-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


@pytest.fixture
def db(server: Server) -> Iterator[sa.Engine]:
    engine = sa.create_engine(normalize_url(server.database_url), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


class FixedClock(Clock):
    def __init__(self, at: int) -> None:
        self.at = at

    def now(self) -> int:
        return self.at

    def precise(self) -> float:
        return float(self.at)


def next_midnight(now: float) -> int:
    day = datetime.datetime.fromtimestamp(now, datetime.UTC).date() + datetime.timedelta(days=1)
    return calendar.timegm(day.timetuple())


def schedule_jobs(engine: sa.Engine, account: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.text("SELECT target, run_at, status FROM jobs WHERE kind = 'payout.schedule' "
                    "AND target LIKE :prefix ORDER BY created, run_at"),
            {"prefix": f"{account}@%"},
        ).fetchall())


def set_schedule(client: stripe.StripeClient, account: str, **schedule: Any) -> stripe.Account:
    return client.v1.accounts.update(account, {"settings": {"payouts": {"schedule": schedule}}})


def test_a_daily_schedule_queues_its_first_run_at_the_next_utc_midnight(
    client: stripe.StripeClient, db: sa.Engine
) -> None:
    account = seller(client)
    before = time.time()
    updated = set_schedule(client, account.id, interval="daily", delay_days=0)
    assert updated.settings.payouts.schedule.to_dict() == {"delay_days": 0, "interval": "daily"}
    midnight = next_midnight(before)
    assert [(r.target, r.run_at, r.status) for r in schedule_jobs(db, account.id)] == [
        (f"{account.id}@{midnight}", midnight, "pending")
    ]


def test_delay_days_postpone_the_first_run(client: stripe.StripeClient, db: sa.Engine) -> None:
    account = seller(client)
    before = time.time()
    set_schedule(client, account.id, interval="daily", delay_days=3)
    assert [r.run_at for r in schedule_jobs(db, account.id)] == [next_midnight(before) + 3 * DAY]


def test_weekly_and_monthly_schedules_run_on_their_anchors(client: stripe.StripeClient, db: sa.Engine) -> None:
    account = seller(client)
    set_schedule(client, account.id, interval="weekly", weekly_anchor="wednesday", delay_days=0)
    set_schedule(client, account.id, interval="monthly", monthly_anchor=15)
    weekly, monthly = (
        datetime.datetime.fromtimestamp(r.run_at, datetime.UTC) for r in schedule_jobs(db, account.id)
    )
    assert weekly.weekday() == 2 and (weekly.hour, weekly.minute) == (0, 0)
    assert monthly.day == 15 and (monthly.hour, monthly.minute) == (0, 0)


def test_a_manual_schedule_queues_nothing(client: stripe.StripeClient, db: sa.Engine) -> None:
    account = seller(client)
    set_schedule(client, account.id, interval="manual")
    assert schedule_jobs(db, account.id) == []


def test_the_run_pays_out_the_available_balance_and_queues_the_next(
    client: stripe.StripeClient, server: Server, db: sa.Engine
) -> None:
    account = seller(client)
    charge = pay(client, 10_000)
    client.v1.transfers.create(
        {"amount": 4_000, "currency": "usd", "destination": account.id, "source_transaction": charge.id}
    )
    set_schedule(client, account.id, interval="daily", delay_days=0)
    (job,) = schedule_jobs(db, account.id)
    options: Any = {"stripe_account": account.id}
    assert client.v1.payouts.list(options=options).data == []

    # An in-process app on the same database, its clock at the job's run time, runs what is due.
    app = Billfold(Settings(database_url=server.database_url), clock=FixedClock(int(job.run_at)))
    app.start()
    JobWorker(app).run_due()

    (payout,) = client.v1.payouts.list(options=options).data
    bank = client.v1.accounts.retrieve(account.id).external_accounts.data[0]
    assert (payout.amount, payout.currency, payout.automatic, payout.method) == (4_000, "usd", True, "standard")
    assert payout.destination == bank.id
    # The payout's debit is dated at the run time, still ahead of the server's clock: count both.
    found = client.v1.balance.retrieve(options=options)
    assert sum(b.amount for b in [*found.available, *found.pending] if b.currency == "usd") == 0
    first, following = schedule_jobs(db, account.id)
    assert first.status == "done"
    assert (following.run_at, following.status) == (job.run_at + DAY, "pending")

    # Nothing more is due at that time: a second pass pays nothing out again.
    JobWorker(app).run_due()
    assert len(client.v1.payouts.list(options=options).data) == 1


def test_a_changed_schedule_supersedes_the_older_job(
    client: stripe.StripeClient, server: Server, db: sa.Engine
) -> None:
    account = seller(client)
    charge = pay(client, 5_000)
    client.v1.transfers.create(
        {"amount": 1_000, "currency": "usd", "destination": account.id, "source_transaction": charge.id}
    )
    set_schedule(client, account.id, interval="daily", delay_days=0)
    set_schedule(client, account.id, interval="daily", delay_days=5)
    old, new = schedule_jobs(db, account.id)
    app = Billfold(Settings(database_url=server.database_url), clock=FixedClock(int(old.run_at)))
    app.start()
    JobWorker(app).run_due()
    assert client.v1.payouts.list(options={"stripe_account": account.id}).data == []
    assert [r.status for r in schedule_jobs(db, account.id)] == ["done", "pending"]
    set_schedule(client, account.id, interval="manual")
    app = Billfold(Settings(database_url=server.database_url), clock=FixedClock(int(new.run_at)))
    app.start()
    JobWorker(app).run_due()
    assert client.v1.payouts.list(options={"stripe_account": account.id}).data == []


def platform_of(server: Server) -> str:
    return str(httpx.get(f"{server.url}/billfold/health").json()["platform_account"])


def test_the_platform_pays_out_on_its_own_schedule(
    client: stripe.StripeClient, server: Server, db: sa.Engine
) -> None:
    pay(client, 7_000)
    before = time.time()
    shown = server.cli("settings", "set", "payout_schedule=daily")
    assert "payout_schedule=daily" in shown
    platform = platform_of(server)
    (job,) = schedule_jobs(db, platform)
    assert job.status == "pending"
    assert next_midnight(before) <= job.run_at <= next_midnight(time.time())

    app = Billfold(Settings(database_url=server.database_url), clock=FixedClock(int(job.run_at)))
    app.start()
    JobWorker(app).run_due()

    automatic = [p for p in client.v1.payouts.list({"limit": 100}).data if p.automatic]
    assert len(automatic) == 1 and automatic[0].amount > 0
    # Everything available at the run time was paid out.
    transactions = client.v1.balance_transactions.list({"limit": 100}).data
    assert sum(t.net for t in transactions if t.available_on <= job.run_at) == 0
    first, following = schedule_jobs(db, platform)
    assert (first.status, following.status) == ("done", "pending")
    assert following.run_at == job.run_at + DAY

    assert "payout_schedule=manual" in server.cli("settings", "set", "payout_schedule=manual")
    app = Billfold(Settings(database_url=server.database_url), clock=FixedClock(int(following.run_at)))
    app.start()
    JobWorker(app).run_due()
    assert len([p for p in client.v1.payouts.list({"limit": 100}).data if p.automatic]) == 1


def test_a_bad_platform_schedule_is_refused(server: Server) -> None:
    with pytest.raises(subprocess.CalledProcessError) as raised:
        server.cli("settings", "set", "payout_schedule=hourly")
    assert "payout_schedule must be" in raised.value.stderr
