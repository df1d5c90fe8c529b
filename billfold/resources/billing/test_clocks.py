"""Test clocks: ``/v1/test_helpers/test_clocks``, a frozen time that customers live on.

A customer created with ``test_clock`` lives on the clock's ``frozen_time`` (``clock.now_for``):
its subscriptions, invoices and their payments are stamped with it, and the work they owe later
is queued as jobs that name the clock (``jobs.schedule(..., test_clock=)``), which the real-time
worker leaves alone. ``advance`` answers at once with ``status: advancing``; the work runs after
the answer as ``test_clock.advance`` jobs on the real-time worker, one clock job per transaction
and in due order, each with ``ctx.now`` at the job's due time. When nothing is left due before
the target, ``frozen_time`` becomes the target and the clock is ``ready`` again.
"""

from __future__ import annotations

from typing import Any

from billfold import ids, jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing, StateConflict
from billfold.resources.base import list_params, page
from billfold.resources.billing import subscription_periods as periods
from billfold.resources.billing.clock import CLOCK
from billfold.wire.params import Int, Spec, Str
from billfold.wire.present import register
from billfold.wire.router import Routes

__all__ = ["ADVANCE_JOB", "EXPIRE_JOB", "delete_clock", "load_clock", "routes"]

routes = Routes("test_clocks")

ADVANCE_JOB = "test_clock.advance"
EXPIRE_JOB = "test_clock.expire"
# Stripe deletes a test clock (and its customers) thirty days after it was created.
LIFETIME = 30 * 86_400
# Statuses of subscriptions whose interval bounds how far one advance may go.
RUNNING = ("active", "past_due", "trialing", "unpaid", "paused", "incomplete")

CREATE: dict[str, Spec] = {"frozen_time": Int(required=True, min=0), "name": Str(max_length=300)}
ADVANCE: dict[str, Spec] = {"frozen_time": Int(required=True, min=0)}


def load_clock(ctx: Ctx, clock_id: str, *, param: str = "test_clock", for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(clock_id, CLOCK, for_update=for_update)
    if found is None:
        raise ResourceMissing("test_clock", clock_id, param=param)
    return found


@routes.post("/v1/test_helpers/test_clocks", CREATE)
def create_test_clock(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    clock: dict[str, Any] = {
        "id": ids.new_id(CLOCK),
        "object": CLOCK,
        "created": ctx.now,
        "deletes_after": ctx.now + LIFETIME,
        "frozen_time": int(params["frozen_time"]),
        "livemode": ctx.livemode,
        "name": params.get("name"),
        "status": "ready",
        "status_details": {},
    }
    ctx.objects.insert(clock)
    ctx.emit("test_helpers.test_clock.created", clock)
    jobs.schedule(ctx, EXPIRE_JOB, clock["id"], clock["deletes_after"])
    return clock


@routes.get("/v1/test_helpers/test_clocks/{test_clock}")
def retrieve_test_clock(ctx: Ctx, params: dict[str, Any], test_clock: str) -> dict[str, Any]:
    return load_clock(ctx, test_clock)


@routes.get("/v1/test_helpers/test_clocks", list_params())
def list_test_clocks(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, CLOCK, "/v1/test_helpers/test_clocks", params)


def _limit(ctx: Ctx, clock: dict[str, Any]) -> int | None:
    """The furthest one advance may go: two intervals of the shortest subscription interval on
    the clock, from its frozen time (no limit without subscriptions)."""
    found = ctx.objects.page("subscription", filters={"test_clock": clock["id"]}, limit=100).data
    frozen = int(clock["frozen_time"])
    ends = [
        periods.boundary(frozen, str(sub["_interval"]), int(sub["_interval_count"]), 2)
        for sub in found
        if sub.get("status") in RUNNING and sub.get("_interval")
    ]
    return min(ends) if ends else None


@routes.post("/v1/test_helpers/test_clocks/{test_clock}/advance", ADVANCE)
def advance_test_clock(ctx: Ctx, params: dict[str, Any], test_clock: str) -> dict[str, Any]:
    clock = load_clock(ctx, test_clock, for_update=True)
    if clock["status"] != "ready":
        raise StateConflict(
            f"The test clock {clock['id']} is currently {clock['status']} and cannot be advanced "
            "until it is ready.",
        )
    target = int(params["frozen_time"])
    frozen = int(clock["frozen_time"])
    if target <= frozen:
        raise InvalidRequestError(
            f"The frozen_time ({target}) must be after the test clock's current frozen_time "
            f"({frozen}): a test clock can only move forward.",
            param="frozen_time",
        )
    limit = _limit(ctx, clock)
    if limit is not None and target > limit:
        raise InvalidRequestError(
            "Cannot advance the test clock more than two intervals of the shortest subscription "
            f"interval on it: the furthest it can move in one advance is {limit}.",
            param="frozen_time",
        )
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    ctx.objects.save(clock)
    ctx.emit("test_helpers.test_clock.advancing", clock)
    jobs.schedule(ctx, ADVANCE_JOB, clock["id"], ctx.now)
    return clock


@routes.delete("/v1/test_helpers/test_clocks/{test_clock}")
def delete_test_clock(ctx: Ctx, params: dict[str, Any], test_clock: str) -> dict[str, Any]:
    return delete_clock(ctx, load_clock(ctx, test_clock, for_update=True))


def delete_clock(ctx: Ctx, clock: dict[str, Any]) -> dict[str, Any]:
    """The clock goes, and with it its customers (their subscriptions canceled) and its jobs."""
    from billfold.resources.billing import subscription_lifecycle as lifecycle

    now = int(clock["frozen_time"])
    running = ctx.objects.page("subscription", filters={"test_clock": clock["id"]}, limit=100).data
    for subscription in running:
        if subscription.get("status") in RUNNING:
            locked = ctx.objects.get(subscription["id"], "subscription", for_update=True)
            if locked is not None:
                lifecycle.end(ctx, locked, at=now)
    for customer in ctx.objects.page("customer", filters={"test_clock": clock["id"]}, limit=100).data:
        ctx.objects.save({**customer, "deleted": True}, deleted=True)
        ctx.emit("customer.deleted", customer)
    ctx.tx.execute(
        "UPDATE jobs SET status = 'canceled', updated = :now WHERE test_clock = :clock "
        "AND status = 'pending' AND account = :account AND livemode = :livemode",
        now=float(ctx.now), clock=clock["id"], account=ctx.scope.account, livemode=ctx.livemode,
    )
    ctx.objects.save({**clock, "deleted": True}, deleted=True)
    ctx.emit("test_helpers.test_clock.deleted", clock)
    return {"id": clock["id"], "object": CLOCK, "deleted": True}


@jobs.handler(EXPIRE_JOB)
def _expire(ctx: Ctx, clock_id: str) -> None:
    """The job: a clock still there at its ``deletes_after`` is deleted, as Stripe does."""
    clock = ctx.objects.get(clock_id, CLOCK, for_update=True)
    if clock is not None and int(clock["deletes_after"]) <= ctx.now:
        delete_clock(ctx, clock)


register(CLOCK)
