"""An invoice's shape for the requested API version.

Stored invoices have the newest shape plus the four fields versions before 2025-03-31.basil
still show (``subscription``, ``payment_intent``, ``charge``, ``paid_out_of_band``). From basil on
those go and ``parent``/``payments`` tell the same story; before it ``paid``, ``tax``,
``total_tax_amounts``, ``discount`` and ``subscription_details`` are worked out from the rest.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.resources.billing.invoice_lines import PARENT_SINCE, embedded
from billfold.resources.billing.invoice_payments import payments_of
from billfold.wire.present import register, render
from billfold.wire.versions import at_least

__all__ = ["LEGACY_ONLY", "register_invoice", "render_invoice"]

LEGACY_ONLY = ("charge", "paid_out_of_band", "payment_intent", "subscription")
# The fields of an invoice in API version 2024-04-10, in Stripe's order.
LEGACY_FIELDS = (
    "id", "object", "account_country", "account_name", "account_tax_ids", "amount_due",
    "amount_paid", "amount_remaining", "amount_shipping", "application", "application_fee_amount",
    "attempt_count", "attempted", "auto_advance", "automatic_tax", "billing_reason", "charge",
    "collection_method", "created", "currency", "custom_fields", "customer", "customer_address",
    "customer_email", "customer_name", "customer_phone", "customer_shipping",
    "customer_tax_exempt", "customer_tax_ids", "default_payment_method", "default_source",
    "default_tax_rates", "description", "discount", "discounts", "due_date", "effective_at",
    "ending_balance", "footer", "from_invoice", "hosted_invoice_url", "invoice_pdf", "issuer",
    "last_finalization_error", "latest_revision", "lines", "livemode", "metadata",
    "next_payment_attempt", "number", "on_behalf_of", "paid", "paid_out_of_band",
    "payment_intent", "payment_settings", "period_end", "period_start",
    "post_payment_credit_notes_amount", "pre_payment_credit_notes_amount", "quote",
    "receipt_number", "rendering", "shipping_cost", "shipping_details", "starting_balance",
    "statement_descriptor", "status", "status_transitions", "subscription",
    "subscription_details", "subscription_proration_date", "subtotal", "subtotal_excluding_tax",
    "tax", "test_clock", "threshold_reason", "total", "total_discount_amounts",
    "total_excluding_tax", "total_tax_amounts", "transfer_data", "webhooks_delivered_at",
)


def _tax_rates(ctx: Ctx, rate_ids: list[Any]) -> list[dict[str, Any]]:
    shown = []
    for rate_id in rate_ids:
        if isinstance(rate_id, dict):
            shown.append(rate_id)
            continue
        rate = ctx.objects.get(str(rate_id), "tax_rate")
        if rate is not None:
            shown.append(render(ctx, rate))
    return shown


def _legacy(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    taxes = data.get("total_taxes") or []
    discount_ids = data.get("discounts") or []
    discount = None
    if len(discount_ids) == 1:
        found = ctx.objects.get(str(discount_ids[0]), "discount", include_deleted=True)
        discount = render(ctx, found) if found else None
    subscription_details = (data.get("parent") or {}).get("subscription_details")
    data.update(
        application_fee_amount=None,
        discount=discount,
        paid=data["status"] == "paid",
        quote=None,
        subscription_details={"metadata": subscription_details.get("metadata")} if subscription_details else None,
        subscription_proration_date=None,
        tax=sum(int(t["amount"]) for t in taxes) if taxes else None,
        threshold_reason=None,
        total_tax_amounts=[
            {
                "amount": tax["amount"],
                "inclusive": tax.get("tax_behavior") == "inclusive",
                "tax_rate": (tax.get("tax_rate_details") or {}).get("tax_rate"),
                "taxability_reason": tax.get("taxability_reason"),
                "taxable_amount": tax.get("taxable_amount"),
            }
            for tax in taxes
        ],
        transfer_data=None,
    )
    # An upcoming invoice has no id: it does not exist yet.
    return {name: data.get(name) for name in LEGACY_FIELDS if name != "id" or "id" in data}


def render_invoice(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    invoice_id = data.get("id")
    url = f"/v1/invoices/{invoice_id}/lines" if invoice_id else "/v1/invoices/upcoming/lines"
    data["lines"] = embedded(ctx, data, url)
    data["default_tax_rates"] = _tax_rates(ctx, data.get("default_tax_rates") or [])
    if not at_least(ctx.api_version, PARENT_SINCE):
        return _legacy(ctx, data)
    for name in LEGACY_ONLY:
        data.pop(name, None)
    return data


def _confirmation_secret(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any] | None:
    stored = ctx.objects.get(str(node.get("id")), "invoice") or {}
    intent_id = stored.get("payment_intent")
    intent = ctx.objects.get(str(intent_id), "payment_intent") if intent_id else None
    if intent is None or not at_least(ctx.api_version, PARENT_SINCE):
        return None
    return {"client_secret": intent["client_secret"], "type": "payment_intent"}


def register_invoice() -> None:
    register(
        "invoice",
        expandable=(
            "account_tax_ids", "application", "charge", "confirmation_secret", "customer",
            "default_payment_method",
            "default_source", "discount", "discounts", "latest_revision", "lines", "on_behalf_of",
            "payment_intent", "payments", "subscription", "test_clock",
        ),
        render=render_invoice,
        includable={"confirmation_secret": _confirmation_secret, "payments": payments_of},
    )
    register("line_item", expandable=("discounts", "subscription"))
