"""Invoice line items: built from invoice items and subscription items, embedded in the invoice
under ``lines``, paged by ``GET /v1/invoices/{id}/lines``.

A stored line has the newest shape plus private keys (``_tax_rates``, ``_price``, ``_proration``,
``_invoice_item``, ``_subscription_item``) that its totals and its older shapes need. Before
2025-03-31.basil a line carries ``price``, ``proration``, ``tax_amounts``, ``tax_rates``, ``type``
and friends instead of ``parent``, ``pricing`` and ``taxes``.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.ledger.money import format_amount
from billfold.resources.billing.price_math import amount_for_quantity
from billfold.wire.params import LIST_PARAMS
from billfold.wire.present import list_object, render
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("invoices")

PARENT_SINCE = "2025-03-31.basil"
EMBEDDED_LINES = 10
# The fields of a line before basil (API version 2024-04-10), in Stripe's order.
LEGACY_FIELDS = (
    "id", "object", "amount", "amount_excluding_tax", "currency", "description",
    "discount_amounts", "discountable", "discounts", "invoice", "invoice_item", "livemode",
    "metadata", "period", "price", "proration", "proration_details", "quantity", "subscription",
    "subscription_item", "tax_amounts", "tax_rates", "type", "unit_amount_excluding_tax",
)


def unit_decimal(amount: int, quantity: int) -> str:
    """An exact per-unit amount as Stripe's decimal strings write it (``"1250"``, ``"333.5"``)."""
    if quantity <= 0:
        return str(amount)
    value = Decimal(amount) / Decimal(quantity)
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _pricing(price: dict[str, Any] | None, unit: str | None) -> dict[str, Any]:
    details = {"price": price["id"], "product": price["product"]} if price else None
    return {"price_details": details, "type": "price_details", "unit_amount_decimal": unit}


def _base(ctx: Ctx, currency: str, amount: int, quantity: int) -> dict[str, Any]:
    return {
        "id": ids.new_id("invoice_line_item"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": None,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": None,
        "livemode": ctx.livemode,
        "metadata": {},
        "parent": None,
        "period": {"end": ctx.now, "start": ctx.now},
        "pretax_credit_amounts": [],
        "pricing": None,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": None,
        "subtotal": amount,
        "taxes": [],
    }


def item_line(ctx: Ctx, item: dict[str, Any], invoice_id: str | None, line_id: str | None = None) -> dict[str, Any]:
    """The line an invoice item becomes on an invoice."""
    line = _base(ctx, item["currency"], item["amount"], item["quantity"])
    if line_id:
        line["id"] = line_id
    subscription = item.get("subscription")
    line.update(
        description=item.get("description"),
        discountable=item["discountable"],
        discounts=list(item.get("discounts") or []),
        invoice=invoice_id,
        metadata=dict(item.get("metadata") or {}),
        parent={
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": bool(item.get("proration")),
                "proration_details": {"credited_items": None},
                "subscription": subscription,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        period=dict(item["period"]),
        pricing=copy.deepcopy(item.get("pricing")),
        subscription=subscription,
    )
    line.update(
        _invoice_item=item["id"],
        _price=((item.get("pricing") or {}).get("price_details") or {}).get("price"),
        _proration=bool(item.get("proration")),
        _subscription_item=item.get("subscription_item"),
        _tax_rates=list(item.get("tax_rates") or []),
    )
    return line


def _interval(price: dict[str, Any]) -> str:
    recurring = price.get("recurring") or {}
    interval = str(recurring.get("interval") or "month")
    count = int(recurring.get("interval_count") or 1)
    return f"/ {interval}" if count == 1 else f"every {count} {interval}s"


def _describe(ctx: Ctx, price: dict[str, Any], quantity: int, currency: str) -> str:
    product = ctx.objects.get(str(price.get("product")), "product", include_deleted=True) or {}
    name = product.get("name") or price.get("nickname") or price["id"]
    unit = price.get("unit_amount")
    if unit is None or price.get("billing_scheme") == "tiered":
        return f"{quantity} × {name}"
    return f"{quantity} × {name} (at {format_amount(int(unit), currency)} {_interval(price)})"


def _item_of(ctx: Ctx, subscription: dict[str, Any], subscription_item: str) -> dict[str, Any]:
    items = subscription.get("items")
    entries = items.get("data") if isinstance(items, dict) else items
    found = next((i for i in entries or [] if isinstance(i, dict) and i.get("id") == subscription_item), None)
    if found is None:
        found = ctx.objects.get(subscription_item, "subscription_item") or {}
    return found


def _id_of(value: Any) -> str:
    return str(value["id"]) if isinstance(value, dict) else str(value)


def _item_tax_rates(item: dict[str, Any], subscription: dict[str, Any]) -> list[str]:
    """A subscription item's own tax rates, else the subscription's defaults (ids)."""
    own = [_id_of(r) for r in item.get("tax_rates") or []]
    if own:
        return own
    return [_id_of(r) for r in subscription.get("default_tax_rates") or []]


def subscription_line(
    ctx: Ctx,
    *,
    price: dict[str, Any],
    quantity: int,
    period_start: int,
    period_end: int,
    subscription: dict[str, Any],
    subscription_item: str,
    proration: bool = False,
    amount: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A subscription item's line for one period (``amount`` given for prorations)."""
    currency = str(subscription.get("currency") or price["currency"])
    if amount is None:
        amount = amount_for_quantity(price, quantity, currency)
    line = _base(ctx, currency, amount, quantity)
    item = _item_of(ctx, subscription, subscription_item)
    unit = price.get("unit_amount_decimal")
    if unit is None and price.get("unit_amount") is not None:
        unit = str(price["unit_amount"])
    line.update(
        description=description or _describe(ctx, price, quantity, currency),
        discountable=not proration,
        discounts=[] if proration else [_id_of(d) for d in item.get("discounts") or []],
        metadata=dict(subscription.get("metadata") or {}),
        parent={
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": subscription_item,
            },
            "type": "subscription_item_details",
        },
        period={"end": period_end, "start": period_start},
        pricing=_pricing(price, unit if not proration else unit_decimal(amount, quantity)),
        subscription=subscription["id"],
    )
    line.update(
        _invoice_item=None,
        _price=price["id"],
        _proration=proration,
        _subscription_item=subscription_item,
        _tax_rates=_item_tax_rates(item, subscription),
    )
    return line


def pricing_for(price: dict[str, Any] | None, unit: str | None) -> dict[str, Any]:
    """An invoice item's ``pricing``: its price (if any) and its exact unit amount."""
    return _pricing(price, unit)


def stored_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """The invoice's own list of lines (changes to it change the invoice)."""
    lines = invoice.setdefault("lines", {"object": "list", "data": [], "has_more": False, "url": ""})
    data: list[dict[str, Any]] = lines.setdefault("data", [])
    return data


def _tax_rate_objects(ctx: Ctx, rate_ids: list[str]) -> list[dict[str, Any]]:
    shown = []
    for rate_id in rate_ids:
        rate = ctx.objects.get(rate_id, "tax_rate")
        if rate is not None:
            shown.append(render(ctx, rate))
    return shown


def _legacy(ctx: Ctx, line: dict[str, Any]) -> dict[str, Any]:
    inclusive = sum(int(t["amount"]) for t in line.get("taxes") or [] if t.get("tax_behavior") == "inclusive")
    excluding = int(line["amount"]) - inclusive
    price_id = line.get("_price")
    price = ctx.objects.get(str(price_id), "price") if price_id else None
    old = dict(line)
    old.update(
        amount_excluding_tax=excluding,
        invoice_item=line.get("_invoice_item"),
        price=render(ctx, price) if price else None,
        proration=bool(line.get("_proration")),
        proration_details={"credited_items": None},
        subscription_item=line.get("_subscription_item"),
        tax_amounts=[
            {
                "amount": tax["amount"],
                "inclusive": tax.get("tax_behavior") == "inclusive",
                "tax_rate": (tax.get("tax_rate_details") or {}).get("tax_rate"),
                "taxability_reason": tax.get("taxability_reason"),
                "taxable_amount": tax.get("taxable_amount"),
            }
            for tax in line.get("taxes") or []
        ],
        tax_rates=_tax_rate_objects(ctx, list(line.get("_tax_rates") or [])),
        type="invoiceitem" if line.get("_invoice_item") else "subscription",
        unit_amount_excluding_tax=unit_decimal(excluding, int(line.get("quantity") or 0)),
    )
    return {name: old.get(name) for name in LEGACY_FIELDS}


def render_line(ctx: Ctx, line: dict[str, Any]) -> dict[str, Any]:
    """One stored line as the requested API version shows it."""
    if not at_least(ctx.api_version, PARENT_SINCE):
        return _legacy(ctx, line)
    return {key: copy.deepcopy(value) for key, value in line.items() if not key.startswith("_")}


def embedded(ctx: Ctx, invoice: dict[str, Any], url: str) -> dict[str, Any]:
    """The first lines of an invoice, as its ``lines`` field shows them."""
    lines = stored_lines(invoice)
    shown = [render_line(ctx, line) for line in lines[:EMBEDDED_LINES]]
    result = list_object(url, shown, len(lines) > EMBEDDED_LINES)
    if not at_least(ctx.api_version, PARENT_SINCE):
        result["total_count"] = len(lines)
    return result


def page_lines(ctx: Ctx, lines: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """A page of lines in the invoice's own order, by ``starting_after`` / ``ending_before``."""
    limit = params.get("limit") or 10
    position = {line["id"]: index for index, line in enumerate(lines)}
    start, end = 0, len(lines)
    if params.get("starting_after"):
        anchor = params["starting_after"]
        if anchor not in position:
            raise ResourceMissing("line item", anchor, param="starting_after")
        start = position[anchor] + 1
        chosen = lines[start:start + limit]
        has_more = start + limit < end
    elif params.get("ending_before"):
        anchor = params["ending_before"]
        if anchor not in position:
            raise ResourceMissing("line item", anchor, param="ending_before")
        end = position[anchor]
        chosen = lines[max(0, end - limit):end]
        has_more = end - limit > 0
    else:
        chosen = lines[:limit]
        has_more = len(lines) > limit
    return list_object(url, [render_line(ctx, line) for line in chosen], has_more)


@routes.get("/v1/invoices/{invoice}/lines", dict(LIST_PARAMS))
def list_invoice_lines(ctx: Ctx, params: dict[str, Any], invoice: str) -> dict[str, Any]:
    found = ctx.objects.get(invoice, "invoice")
    if found is None:
        raise ResourceMissing("invoice", invoice, param="invoice")
    url = f"/v1/invoices/{invoice}/lines"
    return page_lines(ctx, stored_lines(found), params, url)
