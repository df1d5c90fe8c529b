"""Dunning: a subscription's failed renewal payment, retried on the account's schedule.

The first failed attempt of a renewal invoice puts the subscription past_due
(``subscription_lifecycle.on_invoice_payment_failed``) and ``schedule_retry`` queues an
``invoice.retry`` job for the invoice's ``next_payment_attempt``, which ``next_attempt`` set when
the failure was recorded (so ``invoice.payment_failed`` already shows it). Retries fall on the
days of ``dunning_retry_days`` counted from the first failure (``billfold.ledger.dunning_settings``).
A retry charges the customer's default payment method as it is then, so a card swapped in before
the retry recovers the subscription (``invoice.paid``, the subscription active again). Once the
last retry fails, the subscription ends as ``dunning_final_action`` says and the invoice stays open
or is marked uncollectible. A card that needs its holder to authenticate is not retried off
session: ``invoice.payment_action_required`` asks for the person, and the subscription waits
past_due for the invoice to be paid on its hosted page.
"""

from __future__ import annotations

from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.ledger.dunning_settings import dunning

__all__ = ["RETRY_JOB", "next_attempt", "schedule_retry"]

RETRY_JOB = "invoice.retry"
DAY = 86_400
# Statuses of a subscription whose renewal invoices dunning retries.
DUNNED = ("active", "trialing", "past_due")


def _subscription_id(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    found = (parent.get("subscription_details") or {}).get("subscription") or invoice.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return str(found) if found else None


def _needs_authentication(error: dict[str, Any] | None) -> bool:
    return error is not None and error.get("code") == "authentication_required"


def next_attempt(ctx: Ctx, invoice: dict[str, Any], error: dict[str, Any] | None) -> int | None:
    """When a failed invoice is tried next (its ``next_payment_attempt``), or None: dunning
    retries only the renewals of a subscription that charges automatically."""
    subscription_id = _subscription_id(invoice)
    if (
        subscription_id is None
        or invoice.get("collection_method") != "charge_automatically"
        or invoice.get("billing_reason") == "subscription_create"
        or _needs_authentication(error)
    ):
        return None
    subscription = ctx.objects.get(subscription_id, "subscription") or {}
    if subscription.get("status") not in DUNNED:
        return None
    started = invoice.setdefault("_dunning_started", ctx.now)
    done = int(invoice.get("_dunning_retries") or 0)
    days = dunning(ctx.account_settings).retry_days
    if done >= len(days):
        return None
    return max(int(started) + days[done] * DAY, ctx.now)


def _queue(ctx: Ctx, invoice: dict[str, Any], run_at: int) -> None:
    queued = ctx.tx.one(
        "SELECT id FROM jobs WHERE status = 'pending' AND kind = :kind AND target = :target "
        "AND run_at = :run_at AND account = :account AND livemode = :livemode",
        kind=RETRY_JOB, target=invoice["id"], run_at=float(run_at), account=ctx.scope.account,
        livemode=ctx.livemode,
    )
    if queued is None:
        jobs.schedule(ctx, RETRY_JOB, invoice["id"], run_at, test_clock=invoice.get("test_clock"))


def schedule_retry(ctx: Ctx, subscription: dict[str, Any], invoice: dict[str, Any]) -> None:
    """After a failed attempt: queue the next retry, or end the subscription when none is left."""
    fresh = ctx.objects.get(invoice["id"], "invoice", for_update=True) or invoice
    if fresh.get("status") != "open":
        return
    upcoming = fresh.get("next_payment_attempt")
    if upcoming is not None:
        _queue(ctx, fresh, int(upcoming))
        return
    if "_dunning_started" in fresh and not _awaiting_authentication(ctx, fresh):
        _give_up(ctx, subscription, fresh)


def _awaiting_authentication(ctx: Ctx, invoice: dict[str, Any]) -> bool:
    intent_id = invoice.get("payment_intent")
    intent = ctx.objects.get(str(intent_id), "payment_intent") if intent_id else None
    if intent is None:
        return False
    return intent.get("status") == "requires_action" or _needs_authentication(intent.get("last_payment_error"))


def _give_up(ctx: Ctx, subscription: dict[str, Any], invoice: dict[str, Any]) -> None:
    """The last retry failed: the subscription and the invoice end as the account chooses."""
    from billfold.resources.billing import invoice_states
    from billfold.resources.billing import subscription_lifecycle as lifecycle
    from billfold.resources.billing import subscription_state as state

    chosen = dunning(ctx.account_settings)
    if chosen.final_invoice == "uncollectible" and invoice["status"] == "open":
        invoice_states.mark_uncollectible(ctx, invoice)
    current = ctx.objects.get(subscription["id"], "subscription", for_update=True)
    if current is None or current["status"] != "past_due":
        return
    if chosen.final_action == "cancel":
        lifecycle.end(ctx, current, at=ctx.now, reason="payment_failed")
    elif chosen.final_action == "unpaid":
        before = state.snapshot(ctx, current)
        current["status"] = "unpaid"
        lifecycle.updated(ctx, before, current)


@jobs.handler(RETRY_JOB)
def _retry(ctx: Ctx, invoice_id: str) -> None:
    """The job: try the invoice again if it is still open and this retry is still the plan."""
    from billfold.resources.billing import invoice_payments

    invoice = ctx.objects.get(invoice_id, "invoice", for_update=True)
    if invoice is None or invoice["status"] != "open":
        return
    due = invoice.get("next_payment_attempt")
    if due is None or int(due) > ctx.now:
        return  # paid, retried or replanned since this job was queued
    subscription_id = _subscription_id(invoice)
    subscription = ctx.objects.get(subscription_id, "subscription") if subscription_id else None
    if subscription is None or subscription["status"] not in DUNNED:
        return
    invoice["_dunning_retries"] = int(invoice.get("_dunning_retries") or 0) + 1
    invoice_payments.attempt_payment(ctx, invoice)
    if invoice["status"] == "open":
        schedule_retry(ctx, subscription, invoice)
