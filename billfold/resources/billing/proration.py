"""Prorations: what a change in the middle of a period credits and charges, to the second.

A change at ``at`` inside the period ``[start, end)`` credits the unused time of what the
subscription had (``-amount × (end − at) / (end − start)``) and charges the remaining time of
what it has now, each on its own line, rounded half away from zero to a whole minor unit, as
Stripe's "Unused time on …" and "Remaining time on …" lines do. The lines become pending
invoice items (``proration: true``) that the subscription's next invoice takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.resources.billing import subscription_state as state

__all__ = ["Change", "ProrationLine", "lines_for", "prorated", "record"]


def prorated(amount: int, period_start: int, period_end: int, start: int, end: int) -> int:
    """``amount`` for ``[start, end)`` of the period ``[period_start, period_end)``."""
    length = period_end - period_start
    used = max(0, min(end, period_end) - max(start, period_start))
    if length <= 0 or used <= 0:
        return 0
    whole = (2 * abs(amount) * used + length) // (2 * length)
    return whole if amount >= 0 else -whole


@dataclass(frozen=True)
class Change:
    """One item before and after a change; ``None`` for an item added or removed."""

    item: str
    before: tuple[dict[str, Any], int] | None  # (price, quantity)
    after: tuple[dict[str, Any], int] | None


@dataclass(frozen=True)
class ProrationLine:
    item: str
    price: dict[str, Any]
    quantity: int
    amount: int
    description: str
    start: int
    end: int


def _same(before: tuple[dict[str, Any], int] | None, after: tuple[dict[str, Any], int] | None) -> bool:
    if before is None or after is None:
        return before is after
    return before[0]["id"] == after[0]["id"] and before[1] == after[1]


def lines_for(
    ctx: Ctx, subscription: dict[str, Any], changes: list[Change], at: int, end: int | None = None
) -> list[ProrationLine]:
    """The proration lines for ``changes`` made at ``at`` (up to ``end``, the period's end unless
    the subscription is cut short). Metered items are billed on usage, never prorated."""
    start, period_end = int(subscription["_period_start"]), int(subscription["_period_end"])
    until = period_end if end is None else end
    if not (start <= at < until):
        return []
    currency = str(subscription["currency"])
    day = state.day_label(at)
    lines: list[ProrationLine] = []
    for change in changes:
        if _same(change.before, change.after):
            continue
        for side, sign, label in ((change.before, -1, "Unused time"), (change.after, 1, "Remaining time")):
            if side is None:
                continue
            price, quantity = side
            if state.is_metered(price):
                continue
            full = state.amount_of(price, quantity, currency)
            amount = sign * prorated(full, start, period_end, at, until)
            if amount == 0:
                continue
            name = state.product_name(ctx, price)
            lines.append(
                ProrationLine(
                    item=change.item,
                    price=price,
                    quantity=quantity,
                    amount=amount,
                    description=f"{label} on {quantity} × {name} after {day}",
                    start=at,
                    end=until,
                )
            )
    return lines


def _tax_rates(ctx: Ctx, subscription: dict[str, Any], item_id: str) -> list[str]:
    item = ctx.objects.get(item_id, "subscription_item", include_deleted=True) or {}
    own = [str(r) for r in item.get("tax_rates") or []]
    return own or [str(r) for r in subscription.get("default_tax_rates") or []]


def record(ctx: Ctx, subscription: dict[str, Any], lines: list[ProrationLine]) -> list[dict[str, Any]]:
    """Store the lines as pending invoice items (``proration: true``) of the subscription."""
    from billfold.resources.billing.invoice_lines import pricing_for, unit_decimal

    customer = ctx.objects.get(str(subscription["customer"]), "customer") or {}
    made = []
    for line in lines:
        item: dict[str, Any] = {
            "id": ids.new_id("invoice_item"),
            "object": "invoiceitem",
            "amount": line.amount,
            "created": ctx.now,  # the store orders by it; the item shows ``date``
            "currency": str(subscription["currency"]),
            "customer": str(subscription["customer"]),
            "customer_account": None,
            "date": ctx.now,
            "description": line.description,
            "discountable": False,
            "discounts": [],
            "invoice": None,
            "livemode": ctx.livemode,
            "metadata": {},
            "net_amount": line.amount,
            "parent": {
                "subscription_details": {
                    "subscription": subscription["id"],
                    "subscription_item": line.item,
                },
                "type": "subscription_details",
            },
            "period": {"end": line.end, "start": line.start},
            "pricing": pricing_for(line.price, unit_decimal(line.amount, line.quantity)),
            "proration": True,
            "quantity": line.quantity,
            "quantity_decimal": str(line.quantity),
            "tax_rates": _tax_rates(ctx, subscription, line.item),
            "test_clock": customer.get("test_clock"),
            # Shown only to versions before 2025-03-31.basil.
            "subscription": subscription["id"],
            "subscription_item": line.item,
        }
        ctx.objects.insert(item)
        ctx.emit("invoiceitem.created", item)
        made.append(item)
    return made
