"""Advancing a test clock: the clock's due jobs, one per transaction, in due order.

The ``test_clock.advance`` job (queued by ``POST .../advance``, run by the real-time worker) takes
the earliest pending job of the clock that falls due at or before the target, runs its handler
with ``ctx.now`` at the job's due time, marks it done and queues itself again, all in one
transaction. Work a job queues for later (the next renewal, a payment retry) joins the queue and
runs in its turn if it falls due before the target. When nothing is left, ``frozen_time`` becomes
the target and the clock is ``ready`` (``test_helpers.test_clock.ready``). A clock job that
raises is undone (a savepoint) and marked failed, and the clock stops in ``internal_failure``.
"""

from __future__ import annotations

import logging
from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.resources.billing.clock import CLOCK
from billfold.resources.billing.test_clocks import ADVANCE_JOB

log = logging.getLogger("billfold.test_clocks")


def _next_job(ctx: Ctx, clock_id: str, target: int) -> Any:
    return ctx.tx.one(
        "SELECT id, kind, target, run_at FROM jobs WHERE test_clock = :clock AND status = 'pending' "
        "AND account = :account AND livemode = :livemode AND run_at <= :target "
        "ORDER BY run_at, seq LIMIT 1" + ctx.tx.for_update,
        clock=clock_id, account=ctx.scope.account, livemode=ctx.livemode, target=float(target),
    )


def _run_clock_job(ctx: Ctx, clock: dict[str, Any], row: Any) -> str | None:
    """Run one clock job at its due time; the error that stopped it, if any (its changes undone)."""
    at = max(int(row.run_at), int(clock["frozen_time"]))
    job_ctx = Ctx(ctx.app, ctx.tx, ctx.scope, ctx.api_version, at)
    job_ctx.memo["test_clock.running"] = clock["id"]
    handler = jobs.HANDLERS.get(row.kind)
    error = None if handler is not None else f"no handler for job kind {row.kind!r}"
    if handler is not None:
        ctx.tx.execute("SAVEPOINT clock_job")
        try:
            handler(job_ctx, row.target)
        except Exception as exc:
            log.exception("test clock %s: job %s (%s %s) failed", clock["id"], row.id, row.kind, row.target)
            ctx.tx.execute("ROLLBACK TO SAVEPOINT clock_job")
            error = f"{type(exc).__name__}: {exc}"
        ctx.tx.execute("RELEASE SAVEPOINT clock_job")
    ctx.tx.execute(
        "UPDATE jobs SET status = :status, attempts = attempts + 1, last_error = :error, updated = :now "
        "WHERE id = :id",
        status="failed" if error else "done", error=error and error[:1000], now=float(ctx.now), id=row.id,
    )
    if error is None:
        ctx.events.extend(job_ctx.events)
    return error


@jobs.handler(ADVANCE_JOB)
def advance_step(ctx: Ctx, clock_id: str) -> None:
    """One step of an advance: the next due clock job, or the end of the advance."""
    clock = ctx.objects.get(clock_id, CLOCK, for_update=True)
    if clock is None or clock.get("status") != "advancing":
        return
    target = int(((clock.get("status_details") or {}).get("advancing") or {})["target_frozen_time"])
    row = _next_job(ctx, clock_id, target)
    if row is not None:
        if _run_clock_job(ctx, clock, row) is None:
            jobs.schedule(ctx, ADVANCE_JOB, clock_id, ctx.now)
            return
        # Stripe's word for an advance that could not finish; the clock stays where it was.
        clock["status"] = "internal_failure"
        clock["status_details"] = {}
        ctx.objects.save(clock)
        ctx.emit("test_helpers.test_clock.internal_failure", clock)
        return
    clock["frozen_time"] = target
    clock["status"] = "ready"
    clock["status_details"] = {}
    ctx.objects.save(clock)
    ctx.emit("test_helpers.test_clock.ready", clock)
