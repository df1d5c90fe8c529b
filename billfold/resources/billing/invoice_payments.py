"""Paying invoices through the payments core: each finalized invoice with money due gets a
PaymentIntent (its default ``invoice_payment``), and every attempt confirms that intent.

Whoever confirms the intent (``attempt_payment`` off-session, the hosted page on-session, or a
client with its ``client_secret``), the outcome reaches the invoice through ``intent_settled``,
which the payments core calls for intents that belong to an invoice: a success pays it
(``invoice.paid``, ``invoice.payment_succeeded``), a failure counts an attempt
(``invoice.payment_failed``, and ``invoice.payment_action_required`` when the card wants
authentication). A subscription's invoice then tells its subscription
(``subscriptions.on_invoice_paid`` / ``on_invoice_payment_failed``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import CardError, InvalidRequestError, ResourceMissing
from billfold.resources.base import list_params, page
from billfold.resources.billing import dunning
from billfold.resources.billing.catalog import Where
from billfold.resources.payments import payment_intent_capture, payment_intents
from billfold.resources.payments import payment_methods as pms
from billfold.wire.params import Dict, Str
from billfold.wire.present import register
from billfold.wire.router import Routes

__all__ = ["attempt_payment", "cancel_intent", "create_intent", "intent_settled", "pay_out_of_band"]

routes = Routes("invoices")

DESCRIPTIONS = {
    "subscription_create": "Subscription creation",
    "subscription_cycle": "Subscription update",
    "subscription_update": "Subscription update",
}
SETTLED = ("succeeded", "canceled")


def _subscription_hook(name: str) -> Callable[[Ctx, dict[str, Any]], None] | None:
    """``subscriptions.<name>``, once the subscriptions module provides it."""
    try:
        module = importlib.import_module("billfold.resources.billing.subscriptions")
    except ImportError:
        return None
    hook: Callable[[Ctx, dict[str, Any]], None] | None = getattr(module, name, None)
    return hook


def tell_subscription(ctx: Ctx, invoice: dict[str, Any], name: str) -> None:
    if invoice.get("subscription"):
        hook = _subscription_hook(name)
        if hook is not None:
            hook(ctx, invoice)


def _payments(ctx: Ctx, invoice_id: str) -> list[dict[str, Any]]:
    return ctx.objects.page("invoice_payment", filters={"invoice": invoice_id}, limit=100).data


def _payment_for(ctx: Ctx, invoice_id: str, intent_id: str) -> dict[str, Any] | None:
    for payment in _payments(ctx, invoice_id):
        if (payment.get("payment") or {}).get("payment_intent") == intent_id:
            return payment
    return None


def _saves_method(ctx: Ctx, invoice: dict[str, Any]) -> bool:
    """The subscription's ``payment_settings.save_default_payment_method`` is on_subscription."""
    if not invoice.get("subscription"):
        return False
    subscription = ctx.objects.get(str(invoice["subscription"]), "subscription") or {}
    settings = subscription.get("payment_settings") or {}
    return settings.get("save_default_payment_method") == "on_subscription"


def create_intent(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice's PaymentIntent for its amount due, and the default invoice_payment for it."""
    types = (invoice.get("payment_settings") or {}).get("payment_method_types") or ["card"]
    params: dict[str, Any] = {
        "amount": invoice["amount_due"],
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "description": DESCRIPTIONS.get(str(invoice.get("billing_reason")), "Payment for Invoice"),
        "payment_method_types": list(types),
    }
    if _saves_method(ctx, invoice):
        # on_subscription keeps the method that pays (the subscription makes it its default).
        params["setup_future_usage"] = "off_session"
    intent = payment_intents.create_payment_intent(ctx, params)
    intent["_invoice"] = invoice["id"]
    ctx.objects.save(intent)
    payment = {
        "id": ids.new_id("invoice_payment"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": ctx.now,
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": ctx.livemode,
        "payment": {"payment_intent": intent["id"], "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    ctx.objects.insert(payment)
    invoice["payment_intent"] = intent["id"]
    return intent


def _open_intent(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """The intent to confirm next: the invoice's own while it can still be confirmed, else a new one."""
    intent_id = invoice.get("payment_intent")
    intent = ctx.objects.get(str(intent_id), "payment_intent", for_update=True) if intent_id else None
    if intent is None or intent["status"] in SETTLED:
        intent = create_intent(ctx, invoice)
        ctx.objects.save(invoice)
    return intent


def default_payment_method(ctx: Ctx, invoice: dict[str, Any]) -> str | None:
    """The invoice's, else its subscription's, else the customer's invoice default."""
    if invoice.get("default_payment_method"):
        return str(invoice["default_payment_method"])
    if invoice.get("subscription"):
        subscription = ctx.objects.get(str(invoice["subscription"]), "subscription") or {}
        if subscription.get("default_payment_method"):
            return str(subscription["default_payment_method"])
    customer = ctx.objects.get(invoice["customer"], "customer") or {}
    method = (customer.get("invoice_settings") or {}).get("default_payment_method")
    return str(method) if method else None


def _refresh(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """Bring the caller's invoice dict up to date with what the attempt stored."""
    fresh = ctx.objects.get(invoice["id"], "invoice")
    if fresh is not None:
        invoice.clear()
        invoice.update(fresh)
    return invoice


def attempt_payment(
    ctx: Ctx, invoice: dict[str, Any], *, off_session: bool = True, payment_method: str | None = None
) -> dict[str, Any]:
    """Try to collect what is left of an open (or uncollectible) invoice; never raises a CardError.

    The outcome is the invoice's status (``paid``, or still ``open`` with one more attempt
    counted) and its PaymentIntent's (``requires_action`` when a person must authenticate).
    """
    if invoice["status"] not in ("open", "uncollectible") or int(invoice["amount_remaining"]) <= 0:
        return invoice
    ctx.objects.save(invoice)
    method_id = payment_method or default_payment_method(ctx, invoice)
    if method_id is None:
        record_failure(ctx, invoice, None)
        return invoice
    intent = _open_intent(ctx, invoice)
    try:
        payment_intents.confirm_payment_intent(
            ctx, {"payment_method": method_id, "off_session": off_session}, intent["id"]
        )
    except CardError:
        pass  # intent_settled has recorded the failed attempt on the invoice
    _refresh(ctx, invoice)
    intent = ctx.objects.get(intent["id"], "payment_intent") or intent
    if intent["status"] == "requires_action":
        ctx.emit("invoice.payment_action_required", invoice)
    return invoice


def resolve_method(ctx: Ctx, invoice: dict[str, Any], ref: str, *, param: str) -> str:
    """A payment method the invoice may be paid with: the customer's own, or one of nobody's
    (a test card id is made into one); another customer's is refused, nothing changed."""
    method = pms.resolve(ctx, ref, param=param)
    owner = method.get("customer")
    if owner is not None and owner != invoice["customer"]:
        raise InvalidRequestError(
            f"The PaymentMethod {method['id']} does not belong to the customer of this invoice "
            f"({invoice['customer']}). Attach it to the customer first.",
            param=param,
        )
    return str(method["id"])


def record_failure(ctx: Ctx, invoice: dict[str, Any], error: dict[str, Any] | None) -> None:
    """One more failed attempt: the invoice stays as it is, and says so."""
    invoice["attempted"] = True
    invoice["attempt_count"] = int(invoice.get("attempt_count") or 0) + 1
    invoice["next_payment_attempt"] = dunning.next_attempt(ctx, invoice, error)
    ctx.objects.save(invoice)
    ctx.emit("invoice.payment_failed", invoice)
    if error is not None and error.get("code") == "authentication_required":
        ctx.emit("invoice.payment_action_required", invoice)
    tell_subscription(ctx, invoice, "on_invoice_payment_failed")


def _mark_paid(ctx: Ctx, invoice: dict[str, Any], intent: dict[str, Any]) -> None:
    received = int(intent.get("amount_received") or intent["amount"])
    invoice["amount_paid"] = int(invoice.get("amount_paid") or 0) + received
    invoice["amount_remaining"] = max(int(invoice["amount_due"]) - invoice["amount_paid"], 0)
    invoice["amount_overpaid"] = max(invoice["amount_paid"] - int(invoice["amount_due"]), 0)
    invoice["attempted"] = True
    invoice["attempt_count"] = int(invoice.get("attempt_count") or 0) + 1
    invoice["next_payment_attempt"] = None
    invoice["payment_intent"] = intent["id"]
    invoice["charge"] = intent.get("latest_charge")
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = ctx.now
    ctx.objects.save(invoice)
    payment = _payment_for(ctx, invoice["id"], intent["id"])
    ctx.emit("invoice.paid", invoice)
    ctx.emit("invoice.payment_succeeded", invoice)
    if payment is not None:
        payment["status"] = "paid"
        payment["amount_paid"] = received
        payment["status_transitions"]["paid_at"] = ctx.now
        ctx.objects.save(payment)
        ctx.emit("invoice_payment.paid", payment)
    tell_subscription(ctx, invoice, "on_invoice_paid")


def intent_settled(ctx: Ctx, intent: dict[str, Any]) -> None:
    """The payments core's word that an invoice's intent succeeded or failed an attempt."""
    invoice = ctx.objects.get(str(intent.get("_invoice")), "invoice", for_update=True)
    if invoice is None or invoice["status"] not in ("open", "uncollectible"):
        return
    if intent["status"] == "succeeded":
        _mark_paid(ctx, invoice, intent)
    elif intent["status"] == "requires_payment_method" and intent.get("last_payment_error"):
        record_failure(ctx, invoice, intent["last_payment_error"])


def cancel_intent(ctx: Ctx, invoice: dict[str, Any], reason: str | None) -> None:
    """Withdraw the invoice's unfinished PaymentIntent (voided, or paid some other way)."""
    intent_id = invoice.get("payment_intent")
    intent = ctx.objects.get(str(intent_id), "payment_intent", for_update=True) if intent_id else None
    if intent is None or intent["status"] in SETTLED or intent["status"] == "processing":
        return
    payment_intent_capture.cancel(ctx, intent, reason)
    payment = _payment_for(ctx, invoice["id"], intent["id"])
    if payment is not None and payment["status"] == "open":
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = ctx.now
        ctx.objects.save(payment)


def pay_out_of_band(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any]:
    """Paid outside Stripe (a cheque, a bank transfer): paid, with no money moving here."""
    cancel_intent(ctx, invoice, None)
    invoice["paid_out_of_band"] = True
    invoice["amount_paid"] = int(invoice.get("amount_paid") or 0) + int(invoice["amount_remaining"])
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = ctx.now
    ctx.objects.save(invoice)
    ctx.emit("invoice.paid", invoice)
    tell_subscription(ctx, invoice, "on_invoice_paid")
    return invoice


def payments_of(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any]:
    """The ``payments`` an invoice shows when expanded (newest first)."""
    found = ctx.objects.page("invoice_payment", filters={"invoice": node["id"]}, limit=10)
    return {
        "object": "list",
        "data": found.data,
        "has_more": found.has_more,
        "url": f"/v1/invoice_payments?invoice={node['id']}",
    }


@routes.get("/v1/invoice_payments/{invoice_payment}")
def retrieve_invoice_payment(ctx: Ctx, params: dict[str, Any], invoice_payment: str) -> dict[str, Any]:
    found = ctx.objects.get(invoice_payment, "invoice_payment")
    if found is None:
        raise ResourceMissing("invoice payment", invoice_payment, param="invoice_payment")
    return found


LIST = list_params(
    invoice=Str(max_length=5000),
    payment=Dict(fields={"payment_intent": Str(), "type": Str(required=True, enum=("payment_intent",))}),
    status=Str(enum=("canceled", "open", "paid")),
)


@routes.get("/v1/invoice_payments", LIST)
def list_invoice_payments(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"invoice": params.get("invoice"), "status": params.get("status")}
    where = Where(ctx)
    intent = (params.get("payment") or {}).get("payment_intent")
    if intent:
        where.equals(intent, "payment", "payment_intent")
    return page(ctx, "invoice_payment", "/v1/invoice_payments", params, filters, where=where.build())


register("invoice_payment", expandable=("invoice", "payment"))
