"""Scheduled jobs: work owed at a later time, kept as rows so a restart loses none of it.

``schedule`` inserts a job in the caller's transaction, so a job exists exactly when the change
that wanted it committed. A worker (``billfold.workers.jobs``) claims due jobs and runs each
one's handler (``HANDLERS[kind]``) in a fresh write transaction that also marks the job done.
A crash before that commit leaves the job pending and it runs again, so handlers are
idempotent: they check their target's state first. A handler that raises is retried with
backoff, then the job is marked ``failed`` with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.context import Ctx
from billfold.store.objects import Scope

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.db import Database

Handler = Callable[[Ctx, str], None]

# kind -> the function that does the work, given a Ctx for the job's account and its target id.
HANDLERS: dict[str, Handler] = {}

# Waits before each retry of a failing job; after the last one the job is marked failed.
RETRY_DELAYS = (10.0, 60.0, 300.0, 1800.0)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register a job kind's handler: ``@jobs.handler("refund.settle")``."""

    def register(function: Handler) -> Handler:
        existing = HANDLERS.get(kind)
        if existing is not None and existing is not function:
            raise ValueError(f"job kind {kind!r} already has a handler")
        HANDLERS[kind] = function
        return function

    return register


def schedule(ctx: Ctx, kind: str, target: str, run_at: float, *, test_clock: str | None = None) -> str:
    """Queue ``kind`` for ``target`` at ``run_at`` (epoch seconds), in the caller's transaction.

    A job about something on a test clock names the clock: it runs on the clock's time, when the
    clock is advanced past ``run_at`` (``billfold.resources.billing.test_clocks``), never on the
    real-time worker.
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job_id = ids.new_id("job")
    ctx.tx.execute(
        "INSERT INTO jobs (id, account, livemode, kind, target, run_at, status, attempts, "
        "created, updated, test_clock) VALUES (:id, :account, :livemode, :kind, :target, :run_at, "
        "'pending', 0, :created, :updated, :test_clock)",
        id=job_id,
        account=ctx.scope.account,
        livemode=ctx.livemode,
        kind=kind,
        target=target,
        run_at=float(run_at),
        created=ctx.now,
        updated=float(ctx.now),
        test_clock=test_clock,
    )
    if test_clock is None and ctx.app.wake_jobs not in ctx.tx.after_commit:
        ctx.tx.after_commit.append(ctx.app.wake_jobs)
    return job_id


@dataclass(frozen=True)
class Claim:
    """A due job this worker holds until ``until`` (its claim token)."""

    id: str
    account: str
    livemode: bool
    kind: str
    target: str
    attempts: int
    until: float


def _names(prefix: str, values: list[str]) -> tuple[str, dict[str, Any]]:
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


def _due_clause(kinds: list[str]) -> tuple[str, dict[str, Any]]:
    # Only kinds this process can run: an older process beside a newer one leaves new kinds alone.
    # A test clock's jobs wait for the clock to be advanced.
    names, params = _names("kind", kinds)
    clause = (
        "status = 'pending' AND test_clock IS NULL AND (claimed_until IS NULL OR claimed_until < :now) "
        f"AND kind IN ({names})"
    )
    return clause, params


def claim_due(db: Database, now: float, until: float, limit: int, kinds: list[str]) -> list[Claim]:
    """Claim up to ``limit`` due jobs, earliest first; concurrent workers never claim the same one."""
    if limit <= 0 or not kinds:
        return []
    due, params = _due_clause(kinds)
    lock = " FOR UPDATE SKIP LOCKED" if db.is_postgres else ""
    # On SQLite the write transaction (BEGIN IMMEDIATE) already excludes every other writer.
    with db.transaction(write=True) as tx:
        rows = tx.all(
            f"UPDATE jobs SET claimed_until = :until WHERE id IN (SELECT id FROM jobs "
            f"WHERE {due} AND run_at <= :now ORDER BY run_at LIMIT :limit{lock}) "
            "RETURNING id, account, livemode, kind, target, attempts",
            now=now, until=until, limit=limit, **params,
        )
    return [
        Claim(row.id, row.account, bool(row.livemode), row.kind, row.target, int(row.attempts), until)
        for row in rows
    ]


def next_due(db: Database, now: float, kinds: list[str]) -> float | None:
    """When the earliest unclaimed pending job falls due."""
    if not kinds:
        return None
    due, params = _due_clause(kinds)
    with db.transaction(write=False) as tx:
        row = tx.one(f"SELECT MIN(run_at) AS due FROM jobs WHERE {due}", now=now, **params)
    return None if row is None or row.due is None else float(row.due)


def run(app: Billfold, claim: Claim, api_version: str) -> bool:
    """Run a claimed job and mark it done, in one transaction; False if it was no longer ours."""
    with app.db.transaction(write=True) as tx:
        # Locked for the whole run: a worker that claims it after our claim lapsed waits, then skips.
        row = tx.one("SELECT status, claimed_until FROM jobs WHERE id = :id" + tx.for_update, id=claim.id)
        if row is None or row.status != "pending" or row.claimed_until != claim.until:
            return False
        ctx = Ctx(app, tx, Scope(claim.account, claim.livemode), api_version, app.clock.now())
        HANDLERS[claim.kind](ctx, claim.target)
        tx.execute(
            "UPDATE jobs SET status = 'done', attempts = :attempts, claimed_until = NULL, "
            "last_error = NULL, updated = :now WHERE id = :id",
            attempts=claim.attempts + 1,
            now=app.clock.precise(),
            id=claim.id,
        )
    return True


def fail(db: Database, claim: Claim, now: float, error: str, retry_delays: tuple[float, ...]) -> str:
    """Record a failed attempt: the job runs again after a backoff, or is ``failed`` for good."""
    attempts = claim.attempts + 1
    status, run_at = "failed", now
    if attempts <= len(retry_delays):
        status, run_at = "pending", now + retry_delays[attempts - 1]
    with db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE jobs SET status = :status, attempts = :attempts, run_at = :run_at, "
            "claimed_until = NULL, last_error = :error, updated = :now "
            "WHERE id = :id AND status = 'pending' AND claimed_until = :until",
            status=status,
            attempts=attempts,
            run_at=run_at,
            error=error[:1000],
            now=now,
            id=claim.id,
            until=claim.until,
        )
    return status


def release(db: Database, claim: Claim) -> None:
    """Give a claim back unrun (the worker is stopping), so another worker may take it at once."""
    with db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE jobs SET claimed_until = NULL WHERE id = :id AND claimed_until = :until",
            id=claim.id,
            until=claim.until,
        )
