"""An invoice's money: discounts, taxes, totals and the customer balance applied, all integers.

For each line: the line's own discounts first, then the invoice's (on discountable lines),
each capped at what is left of the line; then its tax rates (the line's own, else the
invoice's ``default_tax_rates``) on what remains, rounded half up per line and rate.
``subtotal`` is the lines before discounts and taxes; ``total`` takes the discounts off and
adds exclusive taxes (inclusive ones are already inside the amounts). A draft shows the
customer's current balance applied; finalizing freezes it (``freeze_balance``).
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.resources.billing import discounts as discount_math
from billfold.resources.billing.invoice_discounts import coupon_of, is_current
from billfold.resources.billing.invoice_lines import stored_lines
from billfold.resources.billing.tax_rates import taxes_for
from billfold.resources.payments.payment_intent_params import MINIMUMS

__all__ = ["freeze_balance", "minimum_charge", "recompute"]


def minimum_charge(currency: str) -> int:
    """The smallest amount Stripe charges a card in ``currency`` (one unit where not listed)."""
    return MINIMUMS.get(currency, 1)


def _product(ctx: Ctx, line: dict[str, Any]) -> str | None:
    details = (line.get("pricing") or {}).get("price_details") or {}
    product = details.get("product")
    return str(product) if product else None


def _rates(ctx: Ctx, ids: list[str], cache: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    found = []
    for rate_id in ids:
        if rate_id not in cache:
            cache[rate_id] = ctx.objects.get(rate_id, "tax_rate")
        rate = cache[rate_id]
        if rate is not None:
            found.append(rate)
    return found


def _usable(ctx: Ctx, discount_id: str, at: int, cache: dict[str, Any]) -> dict[str, Any] | None:
    """The coupon of a discount still running at ``at`` (``cache`` may hold previews' own)."""
    if discount_id not in cache:
        pair = coupon_of(ctx, discount_id)
        cache[discount_id] = pair[1] if pair is not None and is_current(pair[0], at) else None
    coupon: dict[str, Any] | None = cache[discount_id]
    return coupon


def _add(totals: dict[str, int], order: list[str], key: str, amount: int) -> None:
    if key not in totals:
        order.append(key)
        totals[key] = 0
    totals[key] += amount


def recompute(
    ctx: Ctx,
    invoice: dict[str, Any],
    customer: dict[str, Any] | None = None,
    *,
    transient: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Set every money field of ``invoice`` (and of its lines) from its lines, discounts and rates.

    ``transient`` maps discount ids that exist only in a preview to their coupons.
    """
    currency = invoice["currency"]
    lines = stored_lines(invoice)
    at = int(invoice.get("period_end") or ctx.now)
    coupons: dict[str, Any] = dict(transient or {})
    rate_cache: dict[str, dict[str, Any] | None] = {}
    left = [int(line["amount"]) for line in lines]
    per_line: list[list[tuple[str, int]]] = [[] for _ in lines]

    for index, line in enumerate(lines):
        for discount_id in line.get("discounts") or []:
            coupon = _usable(ctx, discount_id, at, coupons)
            if coupon is None or left[index] <= 0:
                continue
            off = min(discount_math.discount_amount(coupon, left[index], currency, _product(ctx, line)), left[index])
            per_line[index].append((discount_id, off))
            left[index] -= off
    for discount_id in invoice.get("discounts") or []:
        coupon = _usable(ctx, discount_id, at, coupons)
        if coupon is None:
            continue
        weights = [
            (max(left[i], 0) if line.get("discountable") else 0, _product(ctx, line))
            for i, line in enumerate(lines)
        ]
        for index, off in enumerate(discount_math.discount_lines(coupon, weights, currency)):
            off = min(off, max(left[index], 0))
            if off:
                per_line[index].append((discount_id, off))
                left[index] -= off

    discount_totals: dict[str, int] = {}
    discount_order: list[str] = []
    tax_totals: dict[str, dict[str, Any]] = {}
    exclusive = inclusive = 0
    default_rates = [str(r) for r in invoice.get("default_tax_rates") or []]
    for index, line in enumerate(lines):
        line["discount_amounts"] = [{"amount": a, "discount": d} for d, a in per_line[index]]
        line["pretax_credit_amounts"] = [
            {"amount": a, "credit_balance_transaction": None, "discount": d, "type": "discount"}
            for d, a in per_line[index]
        ]
        for discount_id, off in per_line[index]:
            _add(discount_totals, discount_order, discount_id, off)
        own = [str(r) for r in line.get("_tax_rates") or []]
        taxes = taxes_for(left[index], _rates(ctx, own or default_rates, rate_cache))
        line["taxes"] = [
            {
                "amount": tax.amount,
                "tax_behavior": "inclusive" if tax.inclusive else "exclusive",
                "tax_rate_details": {"tax_rate": tax.rate},
                "taxability_reason": "standard_rated",
                "taxable_amount": tax.taxable_amount,
                "type": "tax_rate_details",
            }
            for tax in taxes
        ]
        line["subtotal"] = int(line["amount"])
        for tax in taxes:
            entry = tax_totals.setdefault(
                tax.rate,
                {"amount": 0, "tax_behavior": "inclusive" if tax.inclusive else "exclusive",
                 "tax_rate_details": {"tax_rate": tax.rate}, "taxability_reason": "standard_rated",
                 "taxable_amount": 0, "type": "tax_rate_details"},
            )
            entry["amount"] += tax.amount
            entry["taxable_amount"] += tax.taxable_amount
            if tax.inclusive:
                inclusive += tax.amount
            else:
                exclusive += tax.amount

    subtotal = sum(int(line["amount"]) for line in lines)
    discounted = sum(discount_totals.values())
    total = subtotal - discounted + exclusive
    invoice.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal - inclusive,
        total=total,
        total_excluding_tax=subtotal - discounted - inclusive,
        total_discount_amounts=[{"amount": discount_totals[d], "discount": d} for d in discount_order],
        total_pretax_credit_amounts=[
            {"amount": discount_totals[d], "credit_balance_transaction": None, "discount": d, "type": "discount"}
            for d in discount_order
        ],
        total_taxes=list(tax_totals.values()),
    )
    if invoice["status"] == "draft" or invoice.get("_preview"):
        balance = int((customer or ctx.objects.get(invoice["customer"], "customer") or {}).get("balance") or 0)
        invoice["starting_balance"] = balance
    due = total + int(invoice.get("starting_balance") or 0)
    invoice["amount_due"] = max(due, 0)
    invoice["amount_remaining"] = max(invoice["amount_due"] - int(invoice.get("amount_paid") or 0), 0)
    return invoice


def freeze_balance(invoice: dict[str, Any], customer: dict[str, Any]) -> int:
    """At finalization: apply the customer's balance for good; returns the customer's new balance.

    Credit beyond the total stays with the customer. An amount due below the currency's minimum
    charge is not charged: it moves to the customer's balance, for the next invoice.
    """
    starting = int(customer.get("balance") or 0)
    invoice["starting_balance"] = starting
    due = int(invoice["total"]) + starting
    ending = min(due, 0)
    amount_due = max(due, 0)
    if 0 < amount_due < minimum_charge(invoice["currency"]):
        ending, amount_due = amount_due, 0
    invoice["amount_due"] = amount_due
    invoice["amount_remaining"] = amount_due
    invoice["ending_balance"] = ending
    return ending
