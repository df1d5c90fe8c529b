"""A new invoice's document: every field of Stripe's newest shape, the customer's details copied
in, and the four fields older API versions still show (``subscription``, ``payment_intent``,
``charge``, ``paid_out_of_band``; ``invoice_render`` drops them for newer versions)."""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx

__all__ = ["customer_snapshot", "draft_invoice"]


def customer_snapshot(customer: dict[str, Any]) -> dict[str, Any]:
    """The customer's details an invoice copies (and keeps once finalized)."""
    return {
        "customer_address": customer.get("address"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": customer.get("shipping"),
        "customer_tax_exempt": customer.get("tax_exempt") or "none",
    }


def _parent(subscription: dict[str, Any] | None) -> dict[str, Any] | None:
    if subscription is None:
        return None
    return {
        "quote_details": None,
        "subscription_details": {
            "metadata": dict(subscription.get("metadata") or {}),
            "subscription": subscription["id"],
        },
        "type": "subscription_details",
    }


def draft_invoice(
    ctx: Ctx,
    customer: dict[str, Any],
    *,
    billing_reason: str,
    subscription: dict[str, Any] | None,
    collection_method: str,
    auto_advance: bool,
    currency: str,
) -> dict[str, Any]:
    """A new draft's document (not stored), with the customer's details copied in."""
    settings = customer.get("invoice_settings") or {}
    rendering = settings.get("rendering_options") or {}
    invoice: dict[str, Any] = {
        "id": ids.new_id("invoice"),
        "object": "invoice",
        "account_country": ctx.account_settings.get("country"),
        "account_name": ctx.account_settings.get("business_name"),
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {
            "disabled_reason": None, "enabled": False, "liability": None, "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": collection_method,
        "created": ctx.now,
        "currency": currency,
        "custom_fields": settings.get("custom_fields"),
        "customer": customer["id"],
        "customer_account": None,
        **customer_snapshot(customer),
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": settings.get("footer"),
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": ""},
        "livemode": ctx.livemode,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": _parent(subscription),
        "payment_settings": {
            "default_mandate": None, "payment_method_options": None, "payment_method_types": None,
        },
        "period_end": ctx.now,
        "period_start": ctx.now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {
            "amount_tax_display": rendering.get("amount_tax_display"),
            "pdf": {"page_size": "auto"},
            "template": rendering.get("template"),
            "template_version": None,
        },
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None, "marked_uncollectible_at": None, "paid_at": None, "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": customer.get("test_clock"),
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
        # The fields versions before 2025-03-31.basil show; the renderer drops them after.
        "charge": None,
        "paid_out_of_band": False,
        "payment_intent": None,
        "subscription": subscription["id"] if subscription else None,
    }
    invoice["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
    return invoice
