"""Invoices: ``/v1/invoices``, what a customer owes, from draft to paid.

The parameters live in ``invoice_params``, the status machine in ``invoice_states``, payment in
``invoice_payments``, the lines in ``invoice_lines`` and the money in ``invoice_totals``. This
module creates invoices (for the API and for subscriptions: ``create_invoice``), holds the
routes and the object's shape, and re-exports what other billing modules call.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import CardError, InvalidRequestError, StateConflict
from billfold.events.record import diff
from billfold.resources.base import load, page
from billfold.resources.billing import clock, invoice_items, invoice_render, invoice_updates
from billfold.resources.billing import invoice_params as spec
from billfold.resources.billing.catalog import no_such
from billfold.resources.billing.invoice_discounts import inherited
from billfold.resources.billing.invoice_draft import draft_invoice
from billfold.resources.billing.invoice_lines import subscription_line
from billfold.resources.billing.invoice_numbering import find_by_secret
from billfold.resources.billing.invoice_payments import (
    attempt_payment,
    default_payment_method,
    pay_out_of_band,
    resolve_method,
)
from billfold.resources.billing.invoice_states import (
    finalize,
    mark_uncollectible,
    not_editable,
    schedule_finalization,
    send,
    void,
)
from billfold.resources.billing.invoice_totals import recompute
from billfold.resources.payments.payment_intent_confirm import public
from billfold.wire.router import Routes

__all__ = [
    "attempt_payment", "create_invoice", "finalize", "find_by_secret", "mark_uncollectible",
    "routes", "subscription_line", "void",
]

routes = Routes("invoices")
DAY = 86_400


def _currency(ctx: Ctx, customer: dict[str, Any], subscription: dict[str, Any] | None,
              lines: list[dict[str, Any]] | None, given: str | None) -> str:
    if given:
        return given
    if lines:
        return str(lines[0]["currency"])
    if subscription is not None and subscription.get("currency"):
        return str(subscription["currency"])
    if customer.get("currency"):
        return str(customer["currency"])
    pending = invoice_items.pending(ctx, customer["id"], None, None)
    if pending:
        return str(pending[0]["currency"])
    return str(ctx.account_settings.get("default_currency") or "usd")


def create_invoice(
    ctx: Ctx,
    *,
    customer: str,
    billing_reason: str,
    subscription: dict[str, Any] | None = None,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    auto_advance: bool = True,
    period_start: int | None = None,
    period_end: int | None = None,
    include_pending_items: bool = True,
    lines: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    currency: str | None = None,
    store: bool = True,
) -> dict[str, Any]:
    """A new draft invoice (stored, ``invoice.created`` emitted), with ``lines`` and, if asked,
    the customer's pending invoice items in its currency. ``store=False`` leaves storing (and
    scheduling its finalization) to the caller."""
    found = load(ctx, "customer", customer, param="customer")
    chosen = _currency(ctx, found, subscription, lines, currency)
    invoice = draft_invoice(
        ctx, found, billing_reason=billing_reason, subscription=subscription,
        collection_method=collection_method, auto_advance=auto_advance, currency=chosen,
    )
    if days_until_due is not None:
        invoice["due_date"] = invoice["created"] + days_until_due * DAY
    invoice["metadata"] = {k: v for k, v in (metadata or {}).items() if v is not None}
    invoice["discounts"] = inherited(ctx, found, subscription)
    data = invoice["lines"]["data"]
    for line in lines or []:
        line["invoice"] = invoice["id"]
        data.append(line)
    if include_pending_items:
        sub_id = subscription["id"] if subscription else None
        for item in invoice_items.pending(ctx, customer, sub_id, chosen):
            data.append(invoice_items.attach(ctx, item, invoice["id"]))
    if period_start is not None:
        invoice["period_start"] = period_start
    if period_end is not None:
        invoice["period_end"] = period_end
    recompute(ctx, invoice, found)
    if not store:
        return invoice
    if auto_advance:
        schedule_finalization(ctx, invoice)
    ctx.objects.insert(invoice)
    ctx.emit("invoice.created", invoice)
    return invoice


@routes.post("/v1/invoices", spec.CREATE)
def create_invoice_route(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "customer" not in params:
        raise InvalidRequestError("Missing required param: customer.", param="customer", code="parameter_missing")
    customer = ctx.objects.get(params["customer"], "customer")
    if customer is None:
        raise no_such("customer", params["customer"], "customer")
    clock.enter(ctx, customer["id"])
    subscription = None
    if params.get("subscription"):
        subscription = ctx.objects.get(params["subscription"], "subscription")
        if subscription is None or subscription.get("customer") != customer["id"]:
            raise no_such("subscription", params["subscription"], "subscription")
    collection = params.get("collection_method", "charge_automatically")
    invoice_updates.check_collection(params, collection)
    behavior = params.get("pending_invoice_items_behavior", "exclude")
    include = behavior != "exclude"
    invoice = create_invoice(
        ctx, customer=customer["id"], billing_reason="manual", subscription=subscription,
        collection_method=collection, days_until_due=params.get("days_until_due"),
        auto_advance=bool(params.get("auto_advance", False)), include_pending_items=include,
        currency=params.get("currency"), store=False,
    )
    if behavior == "include_and_require" and not invoice["lines"]["data"]:
        raise InvalidRequestError(
            "Nothing to invoice for customer", code="invoice_no_customer_line_items", param="customer"
        )
    invoice_updates.apply(ctx, invoice, params)
    if invoice["auto_advance"]:
        schedule_finalization(ctx, invoice, params.get("automatically_finalizes_at"))
    recompute(ctx, invoice, customer)
    ctx.objects.insert(invoice)
    ctx.emit("invoice.created", invoice)
    return invoice


@routes.get("/v1/invoices/{invoice}")
def retrieve_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    return load(ctx, "invoice", invoice, param="invoice")


@routes.post("/v1/invoices/{invoice}", spec.UPDATE)
def update_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    before = {k: v for k, v in current.items() if k != "lines"}
    if current["status"] != "draft":
        locked = sorted(set(params) - spec.FINALIZED_EDITABLE)
        if locked:
            raise not_editable(
                f"Finalized invoices can't be updated in this way: {locked[0]} can only be changed "
                "while the invoice is a draft.",
                param=locked[0],
            )
    was_advancing = bool(current.get("auto_advance"))
    invoice_updates.apply(ctx, current, params)
    if current["status"] == "draft":
        if current["auto_advance"] and (not was_advancing or "automatically_finalizes_at" in params):
            schedule_finalization(ctx, current, params.get("automatically_finalizes_at"))
        elif not current["auto_advance"]:
            current["automatically_finalizes_at"] = None
        recompute(ctx, current)
    previous = diff(before, current)
    ctx.objects.save(current)
    if previous:
        ctx.emit("invoice.updated", current, previous)
    return current


@routes.delete("/v1/invoices/{invoice}")
def delete_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    if current["status"] != "draft":
        raise not_editable("You can only delete draft invoices.")
    if current.get("subscription"):
        raise not_editable(
            "You can't delete an invoice created by a subscription; void it once finalized instead."
        )
    invoice_items.release(ctx, current)
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    ctx.emit("invoice.deleted", current)
    return {"id": invoice, "object": "invoice", "deleted": True}


@routes.get("/v1/invoices", spec.LIST)
def list_invoices(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {
        "customer": params.get("customer"),
        "status": params.get("status"),
        "subscription": params.get("subscription"),
    }
    where = invoice_updates.list_where(ctx, params)
    return page(ctx, "invoice", "/v1/invoices", params, filters, where=where)


@routes.post("/v1/invoices/{invoice}/finalize", spec.FINALIZE)
def finalize_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    clock.enter(ctx, current["customer"])
    if "auto_advance" in params and current["status"] == "draft":
        current["auto_advance"] = params["auto_advance"]
    return finalize(ctx, current)


def _declined(ctx: Ctx, invoice: dict[str, Any]) -> CardError:
    """The 402 a failed ``pay`` answers with, from the invoice's PaymentIntent (kept: the
    attempt happened)."""
    intent = ctx.objects.get(str(invoice.get("payment_intent")), "payment_intent") or {}
    if intent.get("status") == "requires_action":
        return CardError(
            "This payment requires additional user action before it can be completed "
            "successfully. Payment can be completed using the PaymentIntent associated with the "
            "invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action",
            code="invoice_payment_intent_requires_action",
            payment_intent=public(ctx, intent),
        )
    error = intent.get("last_payment_error") or {}
    return CardError(
        str(error.get("message") or "Your card was declined."),
        code=str(error.get("code") or "card_declined"),
        decline_code=error.get("decline_code"),
        charge=error.get("charge"),
        payment_intent=public(ctx, intent) if intent else None,
    )


@routes.post("/v1/invoices/{invoice}/pay", spec.PAY)
def pay_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    clock.enter(ctx, current["customer"])
    status = current["status"]
    if status == "paid":
        raise StateConflict("Invoice is already paid")
    if status == "void":
        raise StateConflict("Voided invoices cannot be paid.")
    if params.get("source"):
        raise InvalidRequestError(
            "Billfold does not support legacy sources; pay with a payment_method.", param="source"
        )
    if params.get("paid_out_of_band"):
        if "payment_method" in params:
            raise InvalidRequestError(
                "You may only specify one of these parameters: paid_out_of_band, payment_method.",
                param="payment_method",
            )
        if status == "draft":
            finalize(ctx, current)
            if current["status"] == "paid":
                return current
        return pay_out_of_band(ctx, current)
    method = None
    if params.get("payment_method"):
        method = resolve_method(ctx, current, params["payment_method"], param="payment_method")
    if status == "draft":
        finalize(ctx, current)
        if current["status"] == "paid":
            return current
    if method is None and default_payment_method(ctx, current) is None:
        raise InvalidRequestError(
            "This customer has no attached payment source or default payment method. Please "
            "consider adding a default payment method. For more information, visit "
            "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.",
        )
    attempt_payment(ctx, current, off_session=params.get("off_session", True), payment_method=method)
    if current["status"] != "paid":
        raise _declined(ctx, current)
    return current


@routes.post("/v1/invoices/{invoice}/void")
def void_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    clock.enter(ctx, current["customer"])
    return void(ctx, current)


@routes.post("/v1/invoices/{invoice}/mark_uncollectible")
def mark_uncollectible_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    current = load(ctx, "invoice", invoice, param="invoice", for_update=True)
    clock.enter(ctx, current["customer"])
    return mark_uncollectible(ctx, current)


@routes.post("/v1/invoices/{invoice}/send")
def send_invoice(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    return send(ctx, load(ctx, "invoice", invoice, param="invoice", for_update=True))


invoice_render.register_invoice()
