"""``invoice.upcoming``: a few days before a subscription renews, a preview of its renewal invoice.

Whenever a renewal is scheduled (``subscription_state.schedule``), an ``invoice.upcoming`` job
is queued ``upcoming_invoice_days`` (an account setting, default 3) before the period ends, on
the subscription's test clock if it has one. The job re-checks the subscription when it runs:
still renewing (live, not cancelling at period end), the same period, not already announced.
The event's object is the preview ``invoice_preview`` builds, without an ``id`` as Stripe's
upcoming invoice has none.
"""

from __future__ import annotations

from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.dunning_settings import upcoming_invoice_days
from billfold.resources.billing import invoice_preview
from billfold.resources.billing import subscription_state as state

__all__ = ["UPCOMING_JOB", "announce", "schedule_upcoming"]

UPCOMING_JOB = "invoice.upcoming"
DAY = 86_400
RENEWING = ("active", "past_due", "unpaid", "trialing")


def _notice(ctx: Ctx) -> int:
    return upcoming_invoice_days(ctx.account_settings) * DAY


def _renews(subscription: dict[str, Any]) -> bool:
    if subscription.get("status") not in RENEWING or subscription.get("cancel_at_period_end"):
        return False
    cancel_at = subscription.get("cancel_at")
    return not (cancel_at and int(cancel_at) <= int(subscription["_period_end"]))


def schedule_upcoming(ctx: Ctx, subscription: dict[str, Any], renews_at: int) -> None:
    """Queue the ``invoice.upcoming`` notice for a renewal at ``renews_at`` (the period's end);
    none when the notice time has passed or the subscription will not renew then."""
    if int(renews_at) != int(subscription.get("_period_end") or 0) or not _renews(subscription):
        return
    at = int(renews_at) - _notice(ctx)
    if at <= ctx.now or subscription.get("_upcoming_sent") == int(renews_at):
        return
    state.schedule(ctx, UPCOMING_JOB, subscription, at)


def announce(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """Send ``invoice.upcoming`` for the current period's renewal, once, when it is due."""
    period_end = int(subscription.get("_period_end") or 0)
    if not _renews(subscription) or subscription.get("_upcoming_sent") == period_end:
        return
    # A job left from an earlier period (or a longer notice setting) is not this period's.
    if not period_end - _notice(ctx) <= ctx.now < period_end:
        return
    try:
        preview = invoice_preview.preview(ctx, {"subscription": subscription["id"]})
    except InvalidRequestError:
        return  # nothing would be invoiced
    preview.pop("id", None)
    subscription["_upcoming_sent"] = period_end
    ctx.objects.save(subscription)
    ctx.emit("invoice.upcoming", preview)


@jobs.handler(UPCOMING_JOB)
def _run(ctx: Ctx, target: str) -> None:
    subscription = ctx.objects.get(target, "subscription", for_update=True)
    if subscription is not None:
        announce(ctx, subscription)
