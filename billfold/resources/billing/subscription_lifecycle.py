"""The subscription status machine over time: renewals, trial ends, expiry, and invoice outcomes.

The clock's entry points (``renew``, ``end_trial``) and the invoices module's hooks
(``on_invoice_paid``, ``on_invoice_payment_failed``) each take the subscription (or invoice) in
the caller's transaction and re-check its state first, so a job that runs twice, late or after
the subscription changed does nothing wrong. Jobs are scheduled per ``subscription_state``.
"""

from __future__ import annotations

from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.events.record import diff
from billfold.observability import metrics
from billfold.resources.billing import invoice_states
from billfold.resources.billing import subscription_billing as billing
from billfold.resources.billing import subscription_periods as periods
from billfold.resources.billing import subscription_state as state

# A server that was down for a long time catches up at most this many periods in one run.
MAX_CATCH_UP = 60


def updated(ctx: Ctx, before: dict[str, Any], subscription: dict[str, Any]) -> None:
    """Save and announce ``customer.subscription.updated`` with what changed since ``before``
    (a ``state.snapshot``)."""
    ctx.objects.save(subscription)
    previous = diff(before, state.snapshot(ctx, subscription))
    previous = {k: v for k, v in previous.items() if not k.startswith("_")}
    if previous:
        ctx.emit("customer.subscription.updated", subscription, previous)


def end(
    ctx: Ctx,
    subscription: dict[str, Any],
    *,
    at: int,
    status: str = "canceled",
    reason: str | None = None,
) -> dict[str, Any]:
    """The subscription ends: ``customer.subscription.deleted``."""
    subscription["status"] = status
    subscription["ended_at"] = at
    if status == "canceled" and subscription.get("canceled_at") is None:
        subscription["canceled_at"] = at
    if reason is not None:
        details = dict(subscription.get("cancellation_details") or {})
        details["reason"] = reason
        subscription["cancellation_details"] = details
    ctx.objects.save(subscription)
    ctx.emit("customer.subscription.deleted", subscription)
    return subscription


def schedule_next(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """Queue the clock work the subscription's current state calls for."""
    for run_at, kind in state.due_work(subscription):
        if kind == state.TRIAL_WILL_END_JOB and subscription.get("_trial_will_end_sent") == subscription.get("trial_end"):
            continue
        state.schedule(ctx, kind, subscription, max(run_at, ctx.now))


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    found = details.get("subscription") or invoice.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return str(found) if found else None


def on_invoice_paid(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """An invoice of the subscription was paid: incomplete, past_due or unpaid become active."""
    subscription_id = _subscription_of(invoice)
    if subscription_id is None:
        return
    subscription = ctx.objects.get(subscription_id, "subscription", for_update=True)
    if subscription is None or subscription["status"] not in ("incomplete", "past_due", "unpaid"):
        return
    if subscription["status"] != "incomplete" and subscription.get("latest_invoice") not in (None, invoice["id"]):
        # An older invoice paid late does not settle the newest one.
        latest = ctx.objects.get(str(subscription["latest_invoice"]), "invoice") or {}
        if latest.get("status") == "open":
            return
    before = state.snapshot(ctx, subscription)
    _save_default_method(ctx, subscription, invoice)
    trial_end = subscription.get("trial_end")
    subscription["status"] = "trialing" if trial_end and trial_end > ctx.now else "active"
    updated(ctx, before, subscription)
    schedule_next(ctx, subscription)


def _save_default_method(ctx: Ctx, subscription: dict[str, Any], invoice: dict[str, Any]) -> None:
    """``save_default_payment_method=on_subscription``: the method that paid becomes the
    subscription's default, so its renewals charge it."""
    settings = subscription.get("payment_settings") or {}
    if settings.get("save_default_payment_method") != "on_subscription":
        return
    intent_id = invoice.get("payment_intent")
    intent = ctx.objects.get(str(intent_id), "payment_intent") if intent_id else None
    if intent is not None and intent.get("payment_method"):
        subscription["default_payment_method"] = intent["payment_method"]


def on_invoice_payment_failed(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """A payment attempt on the subscription's invoice failed: an active subscription becomes
    past_due and dunning begins. A first invoice leaves its subscription incomplete."""
    subscription_id = _subscription_of(invoice)
    if subscription_id is None:
        return
    subscription = ctx.objects.get(subscription_id, "subscription", for_update=True)
    if subscription is None or subscription["status"] not in ("active", "trialing"):
        return
    before = state.snapshot(ctx, subscription)
    subscription["status"] = "past_due"
    updated(ctx, before, subscription)
    schedule_retry(ctx, subscription, invoice)


def schedule_retry(ctx: Ctx, subscription: dict[str, Any], invoice: dict[str, Any]) -> None:
    """Dunning's entry point: when to try the invoice again, and the state it ends in once the
    retries run out (the account's settings): see ``dunning``."""
    from billfold.resources.billing import dunning

    dunning.schedule_retry(ctx, subscription, invoice)


def renew(ctx: Ctx, subscription: dict[str, Any]) -> dict[str, Any]:
    """A period ends: the subscription ends if it was told to, else moves to the next period
    (catching up every period that has passed) and invoices it."""
    for _ in range(MAX_CATCH_UP):
        status = subscription["status"]
        if status not in ("active", "past_due", "unpaid"):
            return subscription
        cancel_at = subscription.get("cancel_at")
        if cancel_at is not None and ctx.now >= cancel_at:
            return end(ctx, subscription, at=int(cancel_at))
        period_end = int(subscription["_period_end"])
        if ctx.now < period_end:
            return subscription
        if subscription.get("cancel_at_period_end"):
            return end(ctx, subscription, at=period_end)
        _advance(ctx, subscription, period_end)
        subscription = state.load_subscription(ctx, subscription["id"], for_update=True)
    return subscription


def _advance(ctx: Ctx, subscription: dict[str, Any], start: int) -> None:
    before = state.snapshot(ctx, subscription)
    previous = (int(subscription["_period_start"]), start)
    anchor = int(subscription["billing_cycle_anchor"])
    end_at = periods.next_boundary(anchor, subscription["_interval"], subscription["_interval_count"], start)
    cancel_at = subscription.get("cancel_at")
    if cancel_at is not None and start < cancel_at < end_at:
        end_at = int(cancel_at)
    state.set_period(ctx, subscription, start, end_at)
    invoice = billing.invoice_period(
        ctx, subscription, billing_reason="subscription_cycle", start=start, end=end_at, usage=previous
    )
    # Counted once the renewal commits (billfold_renewal_invoices_created_total).
    ctx.tx.after_commit.append(metrics.for_app(ctx.app).renewal_invoice)
    updated(ctx, before, subscription)
    delay = int(ctx.account_settings.get("renewal_invoice_delay", 0))
    if delay > 0 and invoice.get("status") == "draft" and invoice.get("auto_advance"):
        # As Stripe does, the renewal invoice stays a draft for a while (an hour by default) so
        # the integration can adjust it; the invoice.finalize job then finalizes and collects it.
        invoice_states.schedule_finalization(ctx, invoice, ctx.now + delay)
        ctx.objects.save(invoice)
    else:
        billing.collect(ctx, subscription, invoice, off_session=True)
    fresh = state.load_subscription(ctx, subscription["id"])
    schedule_next(ctx, fresh)


def end_trial(ctx: Ctx, subscription: dict[str, Any]) -> dict[str, Any]:
    """The trial is over: the first paid period begins and is invoiced; without a payment method
    ``trial_settings.end_behavior.missing_payment_method`` may cancel or pause instead."""
    trial_end = subscription.get("trial_end")
    if subscription["status"] != "trialing" or trial_end is None or ctx.now < trial_end:
        return subscription
    behavior = ((subscription.get("trial_settings") or {}).get("end_behavior") or {}).get(
        "missing_payment_method", "create_invoice"
    )
    missing = (
        subscription["collection_method"] == "charge_automatically"
        and state.payment_method_for(ctx, subscription) is None
    )
    before = state.snapshot(ctx, subscription)
    if missing and behavior == "cancel":
        return end(ctx, subscription, at=int(trial_end))
    if missing and behavior == "pause":
        subscription["status"] = "paused"
        updated(ctx, before, subscription)
        ctx.emit("customer.subscription.paused", subscription)
        return subscription
    return start_paid_period(ctx, subscription, int(trial_end), before)


def start_paid_period(
    ctx: Ctx,
    subscription: dict[str, Any],
    start: int,
    before: dict[str, Any],
    *,
    billing_reason: str = "subscription_cycle",
    off_session: bool = True,
) -> dict[str, Any]:
    """Begin a period at ``start`` (a trial's end, a resume) and invoice it."""
    anchor = int(subscription["billing_cycle_anchor"])
    if anchor < start:
        anchor = start
        subscription["billing_cycle_anchor"] = start
    end_at = periods.next_boundary(anchor, subscription["_interval"], subscription["_interval_count"], start)
    subscription["status"] = "active"
    state.set_period(ctx, subscription, start, end_at)
    invoice = billing.invoice_period(ctx, subscription, billing_reason=billing_reason, start=start, end=end_at)
    updated(ctx, before, subscription)
    billing.collect(ctx, subscription, invoice, off_session=off_session)
    fresh = state.load_subscription(ctx, subscription["id"], for_update=True)
    schedule_next(ctx, fresh)
    return fresh


def trial_will_end(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """``customer.subscription.trial_will_end``, three days ahead (once per trial end)."""
    trial_end = subscription.get("trial_end")
    if subscription["status"] != "trialing" or trial_end is None:
        return
    if ctx.now < trial_end - state.TRIAL_WILL_END_NOTICE or subscription.get("_trial_will_end_sent") == trial_end:
        return
    subscription["_trial_will_end_sent"] = trial_end
    ctx.objects.save(subscription)
    ctx.emit("customer.subscription.trial_will_end", subscription)


def expire_incomplete(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """An incomplete subscription whose first invoice went unpaid for 23 hours ends for good:
    ``incomplete_expired``, its open invoice voided."""
    if subscription["status"] != "incomplete" or ctx.now < subscription["created"] + state.INCOMPLETE_WINDOW:
        return
    latest = subscription.get("latest_invoice")
    invoice = ctx.objects.get(str(latest), "invoice", for_update=True) if latest else None
    if invoice is not None and invoice.get("status") == "open":
        billing.invoices().void(ctx, invoice)
    end(ctx, subscription, at=ctx.now, status="incomplete_expired")


def resume_collection(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """``pause_collection.resumes_at`` has come: collection resumes."""
    paused = subscription.get("pause_collection") or {}
    resumes_at = paused.get("resumes_at")
    if resumes_at is None or ctx.now < resumes_at:
        return
    before = state.snapshot(ctx, subscription)
    subscription["pause_collection"] = None
    updated(ctx, before, subscription)


def _job(kind: str, work: Any) -> None:
    def run(ctx: Ctx, target: str) -> None:
        subscription = ctx.objects.get(target, "subscription", for_update=True)
        if subscription is not None:
            work(ctx, subscription)

    run.__name__ = kind.replace(".", "_")
    jobs.handler(kind)(run)


_job(state.RENEW_JOB, renew)
_job(state.TRIAL_END_JOB, end_trial)
_job(state.TRIAL_WILL_END_JOB, trial_will_end)
_job(state.EXPIRE_JOB, expire_incomplete)
_job(state.RESUME_COLLECTION_JOB, resume_collection)

__all__ = [
    "end",
    "end_trial",
    "expire_incomplete",
    "on_invoice_paid",
    "on_invoice_payment_failed",
    "renew",
    "resume_collection",
    "schedule_next",
    "schedule_retry",
    "start_paid_period",
    "trial_will_end",
    "updated",
]
