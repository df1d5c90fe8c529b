"""An invoice's status machine: draft -> open -> paid / void / uncollectible (and back to paid).

``finalize`` freezes a draft's money (the customer's balance applied, a number taken, the hosted
page's secret made) and opens it, or pays it at once when nothing is due. ``void`` and
``mark_uncollectible`` close open invoices; an uncollectible invoice can still be paid. Automatic
finalization is a job (``invoice.finalize``) an hour after creation, which also collects payment
from ``charge_automatically`` invoices.
"""

from __future__ import annotations

from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.errors import StateConflict
from billfold.resources.base import load
from billfold.resources.billing import invoice_payments
from billfold.resources.billing.invoice_draft import customer_snapshot
from billfold.resources.billing.invoice_numbering import assign_number, hosted_urls
from billfold.resources.billing.invoice_totals import freeze_balance, recompute

__all__ = ["FINALIZE_JOB", "finalize", "mark_uncollectible", "schedule_finalization", "send", "void"]

FINALIZE_JOB = "invoice.finalize"
# Stripe finalizes an auto-advancing draft an hour after it was created.
FINALIZE_AFTER = 3600


def not_editable(message: str, param: str | None = None) -> StateConflict:
    return StateConflict(message, code="invoice_not_editable", param=param)


def _set_customer_balance(ctx: Ctx, customer: dict[str, Any], balance: int) -> None:
    previous = int(customer.get("balance") or 0)
    if balance == previous:
        return
    customer["balance"] = balance
    ctx.objects.save(customer)
    ctx.emit("customer.updated", customer, {"balance": previous})


def _pay_nothing(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """An invoice with nothing due is paid the moment it is finalized."""
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = ctx.now
    invoice["attempted"] = True
    invoice["auto_advance"] = False
    invoice["next_payment_attempt"] = None
    ctx.objects.save(invoice)
    ctx.emit("invoice.paid", invoice)
    ctx.emit("invoice.payment_succeeded", invoice)
    invoice_payments.tell_subscription(ctx, invoice, "on_invoice_paid")


def finalize(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """draft -> open (or paid when nothing is due); the caller's dict is updated in place."""
    if invoice["status"] != "draft":
        raise StateConflict(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    customer = load(ctx, "customer", invoice["customer"], param="customer", for_update=True)
    # The customer's details as of finalization are the invoice's for good.
    invoice.update(customer_snapshot(customer))
    recompute(ctx, invoice, customer)
    _set_customer_balance(ctx, customer, freeze_balance(invoice, customer))
    if invoice.get("number") is None:
        invoice["number"] = assign_number(customer)
        ctx.objects.save(customer)
    hosted_urls(ctx, invoice)
    invoice["status"] = "open"
    invoice["status_transitions"]["finalized_at"] = ctx.now
    invoice["effective_at"] = invoice.get("effective_at") or ctx.now
    invoice["automatically_finalizes_at"] = None
    if invoice["collection_method"] == "charge_automatically" and invoice.get("auto_advance"):
        invoice["next_payment_attempt"] = ctx.now
    if invoice["amount_due"] > 0:
        invoice_payments.create_intent(ctx, invoice)
    ctx.objects.save(invoice)
    ctx.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        _pay_nothing(ctx, invoice)
    return invoice


def _closable(invoice: dict[str, Any], action: str) -> None:
    status = invoice["status"]
    if status == "draft":
        raise StateConflict(
            f"You can't {action} a draft invoice. Delete the draft instead, or finalize it first.",
            code="invoice_not_editable",
        )
    if status == "paid":
        raise StateConflict(f"You can't {action} an invoice that has already been paid.")
    if status == "void":
        raise StateConflict(f"You can't {action} an invoice that has already been voided.")


def void(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """open / uncollectible -> void: nothing more can be paid, the applied balance goes back."""
    _closable(invoice, "void")
    invoice_payments.cancel_intent(ctx, invoice, "void_invoice")
    applied = int(invoice.get("starting_balance") or 0) - int(invoice.get("ending_balance") or 0)
    if applied:
        customer = load(ctx, "customer", invoice["customer"], param="customer", for_update=True)
        _set_customer_balance(ctx, customer, int(customer.get("balance") or 0) + applied)
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = ctx.now
    invoice["auto_advance"] = False
    invoice["next_payment_attempt"] = None
    ctx.objects.save(invoice)
    ctx.emit("invoice.voided", invoice)
    return invoice


def mark_uncollectible(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """open -> uncollectible: a bad debt, written off, though it may still be paid later."""
    _closable(invoice, "mark as uncollectible")
    if invoice["status"] == "uncollectible":
        raise StateConflict("This invoice is already marked as uncollectible.")
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = ctx.now
    invoice["auto_advance"] = False
    invoice["next_payment_attempt"] = None
    ctx.objects.save(invoice)
    ctx.emit("invoice.marked_uncollectible", invoice)
    return invoice


def send(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """Email the invoice (in test mode only ``invoice.sent`` says so); a draft is finalized first."""
    if invoice["collection_method"] != "send_invoice":
        raise StateConflict(
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
        )
    if invoice["status"] == "draft":
        finalize(ctx, invoice)
    if invoice["status"] in ("void", "uncollectible"):
        raise StateConflict(f"You can't send an invoice with a status of {invoice['status']}.")
    ctx.emit("invoice.sent", invoice)
    return invoice


def schedule_finalization(ctx: Ctx, invoice: dict[str, Any], at: int | None = None) -> None:
    """Plan the automatic finalization of an auto-advancing draft (an hour after creation)."""
    when = at if at is not None else max(int(invoice["created"]) + FINALIZE_AFTER, ctx.now)
    invoice["automatically_finalizes_at"] = when
    jobs.schedule(ctx, FINALIZE_JOB, invoice["id"], when, test_clock=invoice.get("test_clock"))


@jobs.handler(FINALIZE_JOB)
def _finalize_due(ctx: Ctx, invoice_id: str) -> None:
    """The job: finalize a draft that is still auto-advancing and due, then collect payment."""
    invoice = ctx.objects.get(invoice_id, "invoice", for_update=True)
    if invoice is None or invoice["status"] != "draft" or not invoice.get("auto_advance"):
        return
    due = invoice.get("automatically_finalizes_at")
    if due is None or int(due) > ctx.now:
        return  # rescheduled or turned off since this job was queued
    subscription_id = invoice.get("subscription")
    if subscription_id:
        # A subscription's invoice is collected by the subscription's own rules (paused
        # collection, unpaid subscriptions are not charged).
        from billfold.resources.billing import subscription_billing

        subscription = ctx.objects.get(str(subscription_id), "subscription", for_update=True)
        if subscription is not None:
            subscription_billing.collect(ctx, subscription, invoice, off_session=True)
            return
    finalize(ctx, invoice)
    if invoice["status"] == "open" and invoice["collection_method"] == "charge_automatically":
        invoice_payments.attempt_payment(ctx, invoice)
