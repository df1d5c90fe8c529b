"""Billing's one time source: a customer on a test clock lives on the clock's frozen time.

``now_for`` is the moment billing stamps and compares for a customer: its test clock's
``frozen_time``, else the request's (or job's) ``ctx.now``. While a clock advances, each of its
jobs runs with ``ctx.now`` set to the job's due time (``test_clocks``), so code that reads
``ctx.now`` inside those jobs is already on the clock. ``enter`` moves a request that acts for a
clock's customer onto the clock's time for the rest of that request.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx

__all__ = ["CLOCK", "clock_of", "enter", "now_for"]

CLOCK = "test_helpers.test_clock"


def clock_of(ctx: Ctx, customer_id: str | None) -> dict[str, Any] | None:
    """The test clock the customer lives on, if any."""
    if not customer_id:
        return None
    customer = ctx.objects.get(str(customer_id), "customer", include_deleted=True)
    clock_id = (customer or {}).get("test_clock")
    if not isinstance(clock_id, str):
        return None
    return ctx.objects.get(clock_id, CLOCK)


def now_for(ctx: Ctx, customer_id: str | None) -> int:
    """The customer's present: its clock's frozen time, else ``ctx.now``."""
    clock = clock_of(ctx, customer_id)
    if clock is None or ctx.memo.get("test_clock.running") == clock["id"]:
        # A job of an advancing clock already runs at its own due time.
        return ctx.now
    return int(clock["frozen_time"])


def enter(ctx: Ctx, customer_id: str | None) -> None:
    """Put the rest of this request on the customer's time (a no-op off a clock)."""
    ctx.now = now_for(ctx, customer_id)
